package server

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// CallInfo carries the per-call service parameters a binding extracted from
// headers or metadata, and returns what the handler decided. Bindings create
// one per call with [WithCallInfo] and, after the call, send
// [CallInfo.Activated] back as the A2A-Extensions response header.
type CallInfo struct {
	// Version is the A2A-Version the caller sent, "" when absent.
	Version string
	// Extensions are the extension URIs the caller asked to activate
	// (A2A-Extensions, comma-separated values already split).
	Extensions []string
	// Caller is the authenticated identity; "" for anonymous callers. Task
	// visibility is scoped to it.
	Caller string
	// Remote is the caller's network address, nil when unknown; anonymous
	// callers are rate limited by its host.
	Remote net.Addr

	mu        sync.Mutex
	activated []string
}

// Activated returns the extensions the handler activated for this call.
func (c *CallInfo) Activated() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.activated)
}

type callKey struct{}

// WithCallInfo returns ctx carrying info for the handler.
func WithCallInfo(ctx context.Context, info *CallInfo) context.Context {
	return context.WithValue(ctx, callKey{}, info)
}

// CallInfoFrom returns the CallInfo of ctx; a call without one is treated as
// an anonymous caller that sent no service parameters.
func CallInfoFrom(ctx context.Context) *CallInfo {
	if c, ok := ctx.Value(callKey{}).(*CallInfo); ok && c != nil {
		return c
	}
	return &CallInfo{}
}

// checkVersion accepts a missing version (most deployed clients omit it) and
// any 1.0[.x]; everything else is VersionNotSupported.
func checkVersion(v string) error {
	v = strings.TrimSpace(v)
	if v == "" || v == a2agrpc.ProtocolVersion || strings.HasPrefix(v, a2agrpc.ProtocolVersion+".") {
		return nil
	}
	return a2agrpc.Errorf(a2agrpc.ReasonVersionNotSupported,
		"A2A-Version %q is not supported; this agent serves %s", v, a2agrpc.ProtocolVersion).
		WithMeta("requestedVersion", v).WithMeta("supportedVersions", a2agrpc.ProtocolVersion)
}

// negotiateExtensions activates the requested extensions the card declares
// and fails if the card requires one the caller did not request.
func negotiateExtensions(call *CallInfo, declared []*a2av1.AgentExtension) error {
	var activated []string
	for _, ext := range declared {
		requested := slices.Contains(call.Extensions, ext.GetUri())
		if requested {
			activated = append(activated, ext.GetUri())
		} else if ext.GetRequired() {
			return a2agrpc.Errorf(a2agrpc.ReasonExtensionSupportRequired,
				"this agent requires extension %s; activate it with the A2A-Extensions header", ext.GetUri()).
				WithMeta("extension", ext.GetUri())
		}
	}
	call.mu.Lock()
	call.activated = activated
	call.mu.Unlock()
	return nil
}
