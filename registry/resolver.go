package registry

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/agentfilter"
	"github.com/a2agrpc/a2agrpc/router"
)

// DefaultSyncWait bounds how long a Resolve waits for the resolver's first
// snapshot of the registry when its context has no deadline.
const DefaultSyncWait = 10 * time.Second

// Resolver is a router.Resolver fed by a registry watch: it keeps every
// registration (healthy or not) in memory, so each routed call resolves its
// capability without a round trip, and the pool follows registrations,
// expiries and health changes within one watch event.
//
// One watch serves every capability: the registry streams all changes,
// and the filter is applied here with the same rule (package agentfilter)
// the registry's own search uses. A broken watch is reopened with backoff;
// meanwhile the last known agents keep serving, since the agents usually
// outlive a registry hiccup, and the router's breakers skip the ones that
// do not.
type Resolver struct {
	c      *Client
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.RWMutex
	regs   map[string]*registryv1.AgentRegistration
	synced chan struct{} // closed at the first SYNCED
	err    error         // why the last watch ended, while none is open
}

var _ router.Resolver = (*Resolver)(nil)

// NewResolver starts watching the registry c reaches. Close stops it (c
// stays open: it is the caller's).
func NewResolver(c *Client, log *slog.Logger) *Resolver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Resolver{c: c, log: log, cancel: cancel, done: make(chan struct{}),
		regs: map[string]*registryv1.AgentRegistration{}, synced: make(chan struct{})}
	go r.run(ctx)
	return r
}

// Close stops the watch.
func (r *Resolver) Close() {
	r.cancel()
	<-r.done
}

// Resolve returns the healthy agents matching f, ordered by registration id,
// with the same card pointers for as long as a registration is unchanged.
// Before the first snapshot of the registry has arrived it waits for it
// (until ctx ends, or [DefaultSyncWait]).
func (r *Resolver) Resolve(ctx context.Context, f *registryv1.AgentFilter) ([]router.Endpoint, error) {
	select {
	case <-r.synced:
	default:
		if err := r.waitSynced(ctx); err != nil {
			return nil, err
		}
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []router.Endpoint
	for id, reg := range r.regs {
		if agentfilter.Matches(f, reg) {
			out = append(out, router.Endpoint{ID: id, Card: reg.GetCard()})
		}
	}
	slices.SortFunc(out, func(a, b router.Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (r *Resolver) waitSynced(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultSyncWait)
		defer cancel()
	}
	select {
	case <-r.synced:
		return nil
	case <-ctx.Done():
		r.mu.RLock()
		err := r.err
		r.mu.RUnlock()
		if err == nil {
			err = ctx.Err()
		}
		return a2agrpc.Errorf(a2agrpc.ReasonUnavailable, "the registry has not answered yet: %v", err)
	}
}

// run keeps a watch open until Close.
func (r *Resolver) run(ctx context.Context) {
	defer close(r.done)
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		err := r.watch(ctx, b)
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		r.log.Warn("registry watch ended; reopening", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(b.next()):
		}
	}
}

// watch follows one watch stream: the snapshot replaces what was known
// (registrations gone while the watch was down must go), then changes apply
// one by one.
func (r *Resolver) watch(ctx context.Context, b *backoff) error {
	fresh := map[string]*registryv1.AgentRegistration{}
	syncing := true
	for ev, err := range r.c.Watch(ctx, &registryv1.AgentFilter{IncludeUnhealthy: true}) {
		if err != nil {
			return err
		}
		b.reset()
		reg := ev.GetAgent()
		switch ev.GetType() {
		case registryv1.WatchEventType_WATCH_EVENT_TYPE_SYNCED:
			syncing = false
			r.mu.Lock()
			r.regs, r.err = r.keepPointers(fresh), nil
			select {
			case <-r.synced:
			default:
				close(r.synced)
			}
			r.mu.Unlock()
		case registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, registryv1.WatchEventType_WATCH_EVENT_TYPE_UPDATED:
			if syncing {
				fresh[reg.GetAgentId()] = reg
				continue
			}
			r.mu.Lock()
			r.regs[reg.GetAgentId()] = keepCard(r.regs[reg.GetAgentId()], reg)
			r.mu.Unlock()
		case registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED:
			if syncing {
				delete(fresh, reg.GetAgentId())
				continue
			}
			r.mu.Lock()
			delete(r.regs, reg.GetAgentId())
			r.mu.Unlock()
		}
	}
	return errors.New("the registry ended the watch")
}

// keepPointers returns fresh with the cards already held kept wherever
// they did not change (see keepCard). Called with r.mu held.
func (r *Resolver) keepPointers(fresh map[string]*registryv1.AgentRegistration) map[string]*registryv1.AgentRegistration {
	for id, reg := range fresh {
		fresh[id] = keepCard(r.regs[id], reg)
	}
	return fresh
}

// keepCard returns reg, holding old's card pointer when the card is the
// same: heartbeats and health changes update a registration many times for
// each change of its card, and the router compares cards by pointer first.
func keepCard(old, reg *registryv1.AgentRegistration) *registryv1.AgentRegistration {
	if old != nil && old.GetCard() != reg.GetCard() && proto.Equal(old.GetCard(), reg.GetCard()) {
		reg.Card = old.GetCard()
	}
	return reg
}
