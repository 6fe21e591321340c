package router

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
)

// placement says where a call may go.
type placement struct {
	pinned *endpoint // only there: the task's endpoint without shared state
	prefer string    // there first if usable: the task's last endpoint
}

// lease is one attempt's hold on an endpoint: a call in flight and a
// place in its breaker's accounting, both given back by finish.
type lease struct {
	ep   *endpoint
	c    *client.Client
	done func(error) // the breaker's
}

// order lists eps in the order the balance would try them, prefer first.
func (rt *Route) order(eps []*endpoint, prefer string) []*endpoint {
	n := uint64(len(eps))
	start := rt.state.next.Add(1) - 1
	out := make([]*endpoint, 0, n)
	for i := range n {
		out = append(out, eps[(start+i)%n])
	}
	if rt.policy.Balance == LeastOutstanding {
		// Fewest calls in flight first; among equals, the one picked
		// longest ago, which takes the tied endpoints in turn (the
		// rotation alone would favour the one after a busy endpoint). The
		// values are read once, so that calls starting and ending meanwhile
		// cannot make the order inconsistent.
		type key struct{ load, picked uint64 }
		keys := make(map[*endpoint]key, n)
		for _, e := range out {
			keys[e] = key{uint64(max(e.inflight.Load(), 0)), e.picked.Load()}
		}
		slices.SortStableFunc(out, func(a, b *endpoint) int {
			ka, kb := keys[a], keys[b]
			if c := cmp.Compare(ka.load, kb.load); c != 0 {
				return c
			}
			return cmp.Compare(ka.picked, kb.picked)
		})
	}
	if prefer != "" {
		if i := slices.IndexFunc(out, func(e *endpoint) bool { return e.id == prefer }); i > 0 {
			e := out[i]
			copy(out[1:i+1], out[:i])
			out[0] = e
		}
	}
	return out
}

// pick leases the endpoint for one attempt: the pinned one, or the first
// in balance order that avoid does not name (unless it names them all)
// and whose breaker lets the call through and whose client is at hand.
// Nothing has been sent when it fails, nor for any endpoint it passed
// over, which is what allows even a send to move on.
func (rt *Route) pick(ctx context.Context, o op, pl placement, avoid map[string]bool) (*lease, error) {
	if rt.err != nil {
		return nil, rt.err
	}
	var cands []*endpoint
	if e := pl.pinned; e != nil {
		if e.replaced.Load() {
			// A new card came meanwhile: the task is still at that ID.
			if cur := rt.r.endpoint(e.id); cur != nil {
				e = cur
			}
		}
		cands = []*endpoint{e}
	} else {
		eps, err := rt.endpoints(ctx)
		if err != nil {
			return nil, err
		}
		cands = rt.order(eps, pl.prefer)
		if len(avoid) > 0 {
			if rest := slices.DeleteFunc(slices.Clone(cands), func(e *endpoint) bool { return avoid[e.id] }); len(rest) > 0 {
				cands = rest
			}
		}
	}
	var open []string
	var last error
	for _, e := range cands {
		done, err := e.brk.Allow()
		if err != nil {
			open = append(open, e.id)
			rt.r.met.call(rt.name, e.id, o.name, outcomeCircuitOpen)
			continue
		}
		c, err := e.acquire(rt.r.clientOpts)
		if err != nil {
			if errors.Is(err, errGone) {
				done(errNotCounted)
			} else {
				done(err) // an unusable card is the endpoint's failure
				rt.r.log.Warn("router: endpoint unusable", "endpoint", e.id, "err", err)
			}
			rt.r.met.call(rt.name, e.id, o.name, outcome(err))
			last = err
			continue
		}
		e.picked.Store(rt.r.picks.Add(1))
		return &lease{ep: e, c: c, done: done}, nil
	}
	if last != nil && len(open) == 0 {
		return nil, last
	}
	what := fmt.Sprintf("no agent of route %s is available", rt.name)
	if pl.pinned != nil {
		what = fmt.Sprintf("agent %q, which holds the task, is unavailable", pl.pinned.id)
	}
	return nil, a2agrpc.Errorf(a2agrpc.ReasonUnavailable, "router: %s (circuit open: %s)", what, strings.Join(open, ", ")).
		WithMeta("route", rt.name)
}

// finish ends an attempt: the breaker's verdict, the call out of flight,
// the metrics.
func (rt *Route) finish(ctx context.Context, l *lease, o op, err error) {
	l.done(verdict(ctx, err))
	l.ep.release()
	if !l.ep.replaced.Load() {
		rt.r.met.call(rt.name, l.ep.id, o.name, outcome(err))
	}
}
