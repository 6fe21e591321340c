package router

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// endpoint is the router's state for one resolved endpoint: its client,
// made on first use and kept, its breaker and its calls in flight. The
// struct lives as long as the endpoint keeps its ID and card; a new card
// makes a new struct, and the old one closes its client once its last call
// has ended.
type endpoint struct {
	id       string
	card     *a2av1.AgentCard
	brk      *breaker
	inflight atomic.Int64  // calls and open streams, for LeastOutstanding
	picked   atomic.Uint64 // Router.picks when last picked: LeastOutstanding's tie-break
	replaced atomic.Bool   // dropped or replaced: it no longer speaks for its ID
	refs     int           // route states whose last resolution holds it; Router.mu

	mu      sync.Mutex
	c       *client.Client
	cerr    error // why no client could be made from the card
	retired bool  // close the client when the last call ends
	closed  bool
}

// errDropped fails an attempt on an endpoint whose client was closed
// between picking it and using it; nothing was sent, so any call may move
// on to another endpoint.
// It wraps errGone, since errors.Is on an *a2agrpc.Error compares reasons
// only.
var (
	errGone    = errors.New("endpoint gone")
	errDropped = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "router: the endpoint was dropped").WithCause(errGone)
)

// acquire returns the endpoint's client, making it on first use, and
// counts a call in flight; release ends it. An error means nothing can be
// sent through this endpoint now: the card yields no client, or the
// endpoint was dropped.
func (e *endpoint) acquire(opts []client.Option) (*client.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errDropped
	}
	if e.c == nil && e.cerr == nil {
		// NewFromCard does no I/O (gRPC connects lazily), so holding the
		// lock costs nothing worth a sync.Once.
		e.c, e.cerr = client.NewFromCard(e.card, opts...)
		if e.cerr != nil {
			e.cerr = a2agrpc.Errorf(a2agrpc.ReasonUnavailable, "router: no client for endpoint %q: %v", e.id, e.cerr).WithCause(e.cerr)
		}
	}
	if e.cerr != nil {
		return nil, e.cerr
	}
	e.inflight.Add(1)
	return e.c, nil
}

// release ends a call begun by acquire, closing the client of a retired
// endpoint after its last call.
func (e *endpoint) release() {
	e.mu.Lock()
	n := e.inflight.Add(-1)
	var c *client.Client
	if n == 0 && e.retired && !e.closed {
		e.closed, c = true, e.c
	}
	e.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// retire closes the client once no call uses it (at once when idle).
func (e *endpoint) retire() {
	e.mu.Lock()
	e.retired = true
	var c *client.Client
	if e.inflight.Load() == 0 && !e.closed {
		e.closed, c = true, e.c
	}
	e.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// close closes the client now, failing its calls in flight.
func (e *endpoint) close() error {
	e.mu.Lock()
	c := e.c
	if e.closed {
		c = nil
	}
	e.retired, e.closed = true, true
	e.mu.Unlock()
	if c != nil {
		return c.Close()
	}
	return nil
}
