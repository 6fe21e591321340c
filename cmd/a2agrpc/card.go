package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// runCard fetches an Agent Card; with -card-keys it is verified first and
// refused (exit 1) unless signed by one of the keys.
func runCard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("card", "", stderr)
	var cf clientFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	opts, err := cf.options()
	if err != nil {
		return usageError{err}
	}
	card, err := client.FetchCard(ctx, cf.url, opts...)
	if err != nil {
		return err
	}
	p := &printer{w: stdout, json: cf.asJSON}
	if p.json {
		return p.proto(card)
	}
	printCard(stdout, card, cf.cardKeys != "")
	return nil
}

func printCard(w io.Writer, card *a2av1.AgentCard, verified bool) {
	fmt.Fprintf(w, "%s %s\n  %s\n", card.GetName(), card.GetVersion(), card.GetDescription())
	if pr := card.GetProvider(); pr != nil {
		fmt.Fprintf(w, "  provider: %s %s\n", pr.GetOrganization(), pr.GetUrl())
	}
	fmt.Fprintln(w, "interfaces:")
	for _, i := range card.GetSupportedInterfaces() {
		tenant := ""
		if i.GetTenant() != "" {
			tenant = " tenant " + i.GetTenant()
		}
		fmt.Fprintf(w, "  %-10s %s (A2A %s)%s\n", i.GetProtocolBinding(), i.GetUrl(), i.GetProtocolVersion(), tenant)
	}
	caps := card.GetCapabilities()
	var on []string
	if caps.GetStreaming() {
		on = append(on, "streaming")
	}
	if caps.GetPushNotifications() {
		on = append(on, "push notifications")
	}
	if caps.GetExtendedAgentCard() {
		on = append(on, "extended card")
	}
	fmt.Fprintf(w, "capabilities: %s\n", cmp.Or(strings.Join(on, ", "), "none"))
	for _, e := range caps.GetExtensions() {
		req := ""
		if e.GetRequired() {
			req = " (required)"
		}
		fmt.Fprintf(w, "  extension %s%s\n", e.GetUri(), req)
	}
	if len(card.GetSecuritySchemes()) > 0 {
		var names []string
		for name := range card.GetSecuritySchemes() {
			names = append(names, name)
		}
		fmt.Fprintf(w, "security: %s\n", strings.Join(names, ", "))
	}
	for _, s := range card.GetSkills() {
		fmt.Fprintf(w, "skill %s: %s — %s\n", s.GetId(), s.GetName(), s.GetDescription())
	}
	switch n := len(card.GetSignatures()); {
	case verified:
		fmt.Fprintln(w, "signature: verified")
	case n > 0:
		fmt.Fprintf(w, "signature: %d, not verified (give -card-keys)\n", n)
	default:
		fmt.Fprintln(w, "signature: none")
	}
}
