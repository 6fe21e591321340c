package registry

import (
	"context"
	"slices"

	"google.golang.org/grpc"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/agentfilter"
)

// watcher is one open watch. Changes are offered to it without blocking
// (the view's lock is held), into a buffer of fixed size: a watcher that
// falls that far behind is ended rather than allowed to hold up the others
// or to grow without bound, and its client watches again, starting from a
// fresh snapshot that supersedes everything it missed.
type watcher struct {
	filter *registryv1.AgentFilter
	events chan *registryv1.WatchAgentsResponse
	done   chan struct{} // closed by end
	err    error         // why it ended; written before done is closed
}

// errFellBehind ends a watch whose client does not keep up.
var errFellBehind = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "the watch fell too far behind the registry's changes; watch again")

// end stops the watcher with err. The view calls it at most once, as it
// removes the watcher under its lock.
func (w *watcher) end(err error) {
	w.err = err
	close(w.done)
}

// event is what a watcher with filter f is told about a change from old to
// reg (either may be nil): ADDED when the registration starts matching,
// UPDATED while it keeps matching, REMOVED (with the registration as it
// was) when it stops, with reason why: the store's removal reason, or
// "unmatched" when it changed so as not to match. nil when the watcher
// does not care.
func event(f *registryv1.AgentFilter, old, reg *registryv1.AgentRegistration, reason string) *registryv1.WatchAgentsResponse {
	was := old != nil && agentfilter.Matches(f, old)
	is := reg != nil && agentfilter.Matches(f, reg)
	switch {
	case !was && is:
		return &registryv1.WatchAgentsResponse{Type: registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, Agent: reg}
	case was && is:
		return &registryv1.WatchAgentsResponse{Type: registryv1.WatchEventType_WATCH_EVENT_TYPE_UPDATED, Agent: reg}
	case was:
		if reg != nil {
			reason = ReasonUnmatched
		}
		return &registryv1.WatchAgentsResponse{Type: registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED, Agent: old, Reason: reason}
	}
	return nil
}

// ReasonUnmatched is the reason of a REMOVED event for a registration that
// changed so as not to match the watch's filter any more (it became
// unhealthy, say). The other reasons are regstore's: deregistered and
// expired.
const ReasonUnmatched = "unmatched"

// notify offers the change to every watcher. Called with v.mu held.
func (v *view) notify(old, reg *registryv1.AgentRegistration, reason string) {
	for w := range v.watchers {
		ev := event(w.filter, old, reg, reason)
		if ev == nil {
			continue
		}
		select {
		case w.events <- ev:
		default:
			delete(v.watchers, w)
			w.end(errFellBehind)
		}
	}
}

// watch opens a watcher and returns it with the registrations matching f
// now, ordered by id; under one lock, so the watcher's events follow that
// snapshot exactly.
func (v *view) watch(f *registryv1.AgentFilter, buffer int) (*watcher, []*registryv1.AgentRegistration, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed != nil {
		return nil, nil, v.closed
	}
	w := &watcher{filter: f, events: make(chan *registryv1.WatchAgentsResponse, buffer), done: make(chan struct{})}
	v.watchers[w] = struct{}{}
	snap := v.matchingLocked(f, "")
	slices.SortFunc(snap, byID)
	return w, snap, nil
}

// unwatch forgets a watcher whose stream ended.
func (v *view) unwatch(w *watcher) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.watchers, w)
}

// close ends every watch with err and refuses new ones.
func (v *view) close(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = err
	for w := range v.watchers {
		delete(v.watchers, w)
		w.end(err)
	}
}

// WatchAgents implements [registryv1.RegistryServiceServer]: ADDED for
// each registration matching the filter now, SYNCED, then every change
// (see [ReasonUnmatched]). The stream ends with UNAVAILABLE when the
// client falls too far behind or the service closes; the client then
// watches again.
func (s *Service) WatchAgents(req *registryv1.WatchAgentsRequest, stream grpc.ServerStreamingServer[registryv1.WatchAgentsResponse]) error {
	return s.watch(stream.Context(), req.GetFilter(), stream.Send)
}

// watch runs one watch, handing its events to send until send fails, ctx
// ends or the watch is ended. It is the one implementation behind the gRPC
// stream and the SSE route; send is called at least once (SYNCED) unless
// the watch could not be opened.
func (s *Service) watch(ctx context.Context, f *registryv1.AgentFilter, send func(*registryv1.WatchAgentsResponse) error) error {
	if f == nil {
		f = &registryv1.AgentFilter{}
	}
	w, snap, err := s.view.watch(f, s.cfg.watchBuffer)
	if err != nil {
		return err
	}
	defer s.view.unwatch(w)
	for _, r := range snap {
		if err := send(&registryv1.WatchAgentsResponse{Type: registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, Agent: r}); err != nil {
			return err
		}
	}
	if err := send(&registryv1.WatchAgentsResponse{Type: registryv1.WatchEventType_WATCH_EVENT_TYPE_SYNCED}); err != nil {
		return err
	}
	for {
		// An ended watch ends now, not after the events still buffered:
		// its client watches again and gets a snapshot superseding them.
		select {
		case <-w.done:
			return w.err
		default:
		}
		select {
		case ev := <-w.events:
			if err := send(ev); err != nil {
				return err
			}
		case <-w.done:
			return w.err
		case <-ctx.Done():
			// The cause, not the bare cancellation: a watch the
			// authenticator ended because its credential expired must
			// say so (UNAUTHENTICATED), so the client reconnects with a
			// fresh one rather than treating it as its own cancel.
			return a2agrpc.AsError(context.Cause(ctx))
		}
	}
}
