package router

import (
	"context"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry/agentfilter"
)

// Endpoint is one agent a route can call.
type Endpoint struct {
	// ID names the endpoint for as long as it exists (a registration id):
	// the router keys its client, breaker, metrics and task affinity by
	// it. An endpoint whose card changes under the same ID gets a new
	// client and a fresh breaker.
	ID string
	// Card is the agent's card, from which its client is made
	// (client.NewFromCard). The router never modifies it.
	Card *a2av1.AgentCard
}

// Resolver finds the endpoints that offer a capability. The router calls
// it on every routed call (and on every attempt of a retried one), so an
// implementation must answer from memory, such as a cache fed by a registry
// watch, never by a round trip. It must be safe for concurrent use. The
// router does not modify the slice or the cards returned; returning the
// same card pointers while nothing changed lets it skip comparing them.
//
// An error fails the call: an *a2agrpc.Error as it is, anything else as
// UNAVAILABLE. No endpoints (and no error) fails it with UNAVAILABLE too,
// since an agent may register any moment.
type Resolver interface {
	Resolve(ctx context.Context, f *registryv1.AgentFilter) ([]Endpoint, error)
}

// ResolverFunc adapts a function to [Resolver].
type ResolverFunc func(ctx context.Context, f *registryv1.AgentFilter) ([]Endpoint, error)

// Resolve calls fn.
func (fn ResolverFunc) Resolve(ctx context.Context, f *registryv1.AgentFilter) ([]Endpoint, error) {
	return fn(ctx, f)
}

// Static is a fixed pool: it resolves a filter to the endpoints whose card
// matches it by agentfilter.MatchesCard, the rule the registry applies too,
// in the order given. The cards are copied, so the caller may reuse its
// own. An endpoint without an ID takes the URL of its card's first
// interface; one without a card never matches.
func Static(endpoints ...Endpoint) Resolver {
	s := make(static, 0, len(endpoints))
	for _, e := range endpoints {
		if e.Card == nil {
			continue
		}
		e.Card = proto.Clone(e.Card).(*a2av1.AgentCard)
		if e.ID == "" && len(e.Card.GetSupportedInterfaces()) > 0 {
			e.ID = e.Card.GetSupportedInterfaces()[0].GetUrl()
		}
		s = append(s, e)
	}
	return s
}

type static []Endpoint

func (s static) Resolve(_ context.Context, f *registryv1.AgentFilter) ([]Endpoint, error) {
	var out []Endpoint
	for _, e := range s {
		if agentfilter.MatchesCard(f, e.Card) {
			out = append(out, e)
		}
	}
	return out, nil
}
