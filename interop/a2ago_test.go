package interop

import (
	"context"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"
	a2agrpcv1 "github.com/a2aproject/a2a-go/v2/a2agrpc/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// bindings are the three A2A protocol bindings, as Agent Cards name them.
var bindings = []a2a.TransportProtocol{a2a.TransportProtocolGRPC, a2a.TransportProtocolHTTPJSON, a2a.TransportProtocolJSONRPC}

// TestA2AGo drives our server (`a2agrpc serve`, the echo agent) with the
// a2a-go v2.4.0 client over each of the three bindings, choosing the
// interface from our Agent Card, and runs every check of goChecks
// (a2ago_checks_test.go) through outcome as peer "a2a-go".
func TestA2AGo(t *testing.T) {
	base := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	card, err := agentcard.DefaultResolver.Resolve(ctx, base)
	cancel()
	if err != nil {
		t.Fatalf("resolve card: %v", err)
	}
	if len(card.SupportedInterfaces) != len(bindings) {
		t.Fatalf("card interfaces = %+v", card.SupportedInterfaces)
	}
	for _, binding := range bindings {
		t.Run(string(binding), func(t *testing.T) {
			e := newGoEnv(t, card, binding)
			for _, c := range goChecks {
				if c.only != "" && c.only != binding {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
				err := c.run(ctx, e)
				cancel()
				if outcome(t, "a2a-go", string(binding), c.name, err) {
					t.Logf("pass: a2a-go over %s: %s", binding, c.name)
				}
			}
		})
	}
}

// checkTimeout bounds each check.
const checkTimeout = 30 * time.Second

// goOptions are the a2a-go client factory options of every client: gRPC
// (opt-in in a2a-go) in plaintext, and the binding under test first.
func goOptions(binding a2a.TransportProtocol, more ...a2aclient.FactoryOption) []a2aclient.FactoryOption {
	return append([]a2aclient.FactoryOption{
		a2agrpcv1.WithGRPCTransport(grpc.WithTransportCredentials(insecure.NewCredentials())),
		a2aclient.WithConfig(a2aclient.Config{PreferredTransports: []a2a.TransportProtocol{binding}}),
	}, more...)
}

// newGoEnv connects an a2a-go client to the card's interface of binding.
func newGoEnv(t *testing.T, card *a2a.AgentCard, binding a2a.TransportProtocol) *goEnv {
	t.Helper()
	e := &goEnv{card: card, binding: binding}
	for _, i := range card.SupportedInterfaces {
		if i.ProtocolBinding == binding {
			e.iface = i
		}
	}
	if e.iface == nil {
		t.Fatalf("the card has no %s interface", binding)
	}
	var err error
	if e.c, err = a2aclient.NewFromCard(t.Context(), card, goOptions(binding)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.c.Destroy() })
	return e
}
