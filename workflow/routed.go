package workflow

import (
	"context"
	"iter"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
)

// Routed dispatches capability steps through a router: each step's
// capability becomes a route with policy p, so its agent is found through
// the router's resolver (a registry), load-balanced, and skipped while its
// circuit is open. The router remembers which agent took each task, which is
// where Cancel goes. Steps naming an agent URL are refused; combine with
// Direct through ByTarget for those.
func Routed(r *router.Router, p router.Policy) Dispatcher { return routed{r: r, p: p} }

type routed struct {
	r *router.Router
	p router.Policy
}

func (d routed) Send(ctx context.Context, t Target, req *a2av1.SendMessageRequest) iter.Seq2[*a2av1.StreamResponse, error] {
	if t.Capability == nil {
		return func(yield func(*a2av1.StreamResponse, error) bool) {
			yield(nil, Permanent(errAgentTarget))
		}
	}
	return d.r.Route(t.Capability, d.p).SendStreamingMessage(ctx, req)
}

func (d routed) Cancel(ctx context.Context, t Target, taskID string) error {
	if t.Capability == nil {
		return Permanent(errAgentTarget)
	}
	_, err := d.r.Route(t.Capability, d.p).CancelTask(ctx, &a2av1.CancelTaskRequest{Id: taskID})
	return err
}
