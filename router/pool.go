package router

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"

	"github.com/sony/gobreaker/v2"
	"google.golang.org/protobuf/proto"
)

// routeState is what the routes of one capability share: the rotation of
// the balancer and the endpoints of the last resolution.
type routeState struct {
	next atomic.Uint64

	// Router.mu guards the rest.
	last []Endpoint
	eps  []*endpoint
	ids  map[string]bool
}

// endpoint returns the live endpoint id, nil if there is none.
func (r *Router) endpoint(id string) *endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eps[id]
}

// sync makes the router's endpoints follow a route state's new resolution
// and returns the endpoints resolved, in order. An endpoint no route state
// resolves any more is dropped; one whose card changed is replaced. Both
// close their client once their calls have ended.
func (r *Router) sync(st *routeState, found []Endpoint) ([]*endpoint, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errClosed
	}
	if r.unchanged(st, found) {
		eps := st.eps
		r.mu.Unlock()
		return eps, nil
	}
	var replaced, dropped []*endpoint
	seen := make(map[string]bool, len(found))
	eps := make([]*endpoint, 0, len(found))
	for _, f := range found {
		if f.ID == "" || f.Card == nil || seen[f.ID] {
			r.log.Warn("router: resolver returned an unusable endpoint", "id", f.ID, "has_card", f.Card != nil, "duplicate", seen[f.ID])
			continue
		}
		seen[f.ID] = true
		e := r.eps[f.ID]
		switch {
		case e == nil:
			e = r.newEndpoint(f)
			r.eps[f.ID] = e
		case e.card != f.Card && !proto.Equal(e.card, f.Card):
			ne := r.newEndpoint(f)
			ne.refs = e.refs
			r.eps[f.ID] = ne
			replaced = append(replaced, e)
			r.log.Info("router: endpoint card changed", "endpoint", f.ID)
			e = ne
		}
		eps = append(eps, e)
	}
	for id := range seen {
		if !st.ids[id] {
			r.eps[id].refs++
		}
	}
	for id := range st.ids {
		if seen[id] {
			continue
		}
		if e := r.eps[id]; e != nil {
			if e.refs--; e.refs <= 0 {
				delete(r.eps, id)
				dropped = append(dropped, e)
				r.log.Info("router: endpoint dropped", "endpoint", id)
			}
		}
	}
	st.ids, st.last, st.eps = seen, slices.Clone(found), eps
	r.mu.Unlock()
	// A replaced endpoint's ID lives on in its successor, and so do its
	// series; a dropped one's go.
	for _, e := range replaced {
		e.replaced.Store(true)
		e.retire()
	}
	for _, e := range dropped {
		e.replaced.Store(true)
		r.met.forget(e.id)
		e.retire()
	}
	return eps, nil
}

// unchanged reports whether found is the state's last resolution, the
// same endpoints with the same card pointers, all still current. It is
// the common case with a cache-backed resolver. Callers hold r.mu.
func (r *Router) unchanged(st *routeState, found []Endpoint) bool {
	if len(found) != len(st.last) || len(st.eps) != len(st.ids) || len(st.eps) != len(found) {
		return false
	}
	for i, f := range found {
		if f.ID != st.last[i].ID || f.Card != st.last[i].Card || r.eps[f.ID] != st.eps[i] {
			return false
		}
	}
	return true
}

// newEndpoint makes the state of a newly resolved endpoint. Callers hold
// r.mu.
func (r *Router) newEndpoint(f Endpoint) *endpoint {
	e := &endpoint{id: f.ID, card: f.Card}
	e.brk = newBreaker(f.ID, r.cfg.breaker, func(from, to gobreaker.State) {
		if e.replaced.Load() {
			return
		}
		lvl := slog.LevelInfo
		if to == gobreaker.StateOpen {
			lvl = slog.LevelWarn
		}
		r.log.Log(context.Background(), lvl, "router: circuit breaker "+stateOf(to).String(), "endpoint", e.id, "from", stateOf(from).String())
	})
	return e
}
