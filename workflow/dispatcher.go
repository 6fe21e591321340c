package workflow

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Dispatcher delivers a step's messages to the agent its target names. The
// engine depends on nothing else, so that agents can be reached directly
// ([Direct]), through a capability router, or through a fake in tests.
//
// Send streams the task the message creates, as
// client.Client.SendStreamingMessage does: first the Task (or a single
// Message for an agent that answers directly), then its updates, ending
// after a terminal or interrupted state; an error ends the stream. It must
// stop promptly when ctx ends. The engine calls it with a context that
// outlives the step's cancellation, so that it can still learn the id of a
// task it has to cancel, and ends that context once it is done with the
// stream.
//
// Cancel cancels a task sent earlier with Send to the same target. A
// dispatcher that resolves capability targets must remember which agent
// each task went to: task ids are only unique per agent.
//
// A Dispatcher is used by every step of a run concurrently.
type Dispatcher interface {
	Send(ctx context.Context, t Target, req *a2av1.SendMessageRequest) iter.Seq2[*a2av1.StreamResponse, error]
	Cancel(ctx context.Context, t Target, taskID string) error
}

// DirectDispatcher sends to agents by their base URL, with one
// client.Client per URL made on first use and kept until Close. It refuses
// capability targets with [ErrCapabilityTarget].
type DirectDispatcher struct {
	opts []client.Option

	mu      sync.Mutex
	clients map[string]*lazyClient
	closed  bool
}

// lazyClient is the client of one URL, made once by whichever step needs
// it first; a failed attempt is not kept, so the next send tries again.
type lazyClient struct {
	mu sync.Mutex
	c  *client.Client
}

// Direct returns a dispatcher that reaches each Target.Agent with
// client.New(ctx, url, opts...): the Agent Card is fetched on the first
// send to that URL, and the connection is shared by every later one. Call
// Close when done with it.
func Direct(opts ...client.Option) *DirectDispatcher {
	return &DirectDispatcher{opts: opts, clients: map[string]*lazyClient{}}
}

// errClosed reports a send after Close.
var errClosed = errors.New("workflow: dispatcher closed")

// Client returns the client of url, connecting on first use.
func (d *DirectDispatcher) Client(ctx context.Context, url string) (*client.Client, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, Permanent(errClosed)
	}
	lc, ok := d.clients[url]
	if !ok {
		lc = &lazyClient{}
		d.clients[url] = lc
	}
	d.mu.Unlock()

	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.c != nil {
		return lc.c, nil
	}
	c, err := client.New(ctx, url, d.opts...)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", url, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed { // closed while connecting: the client would leak
		return nil, errors.Join(Permanent(errClosed), c.Close())
	}
	lc.c = c
	return c, nil
}

// Send implements [Dispatcher].
func (d *DirectDispatcher) Send(ctx context.Context, t Target, req *a2av1.SendMessageRequest) iter.Seq2[*a2av1.StreamResponse, error] {
	return func(yield func(*a2av1.StreamResponse, error) bool) {
		if t.Agent == "" {
			yield(nil, Permanent(fmt.Errorf("%s: %w", t, ErrCapabilityTarget)))
			return
		}
		c, err := d.Client(ctx, t.Agent)
		if err != nil {
			yield(nil, err)
			return
		}
		for ev, err := range c.SendStreamingMessage(ctx, req) {
			if err != nil {
				err = fmt.Errorf("agent %s: %w", t.Agent, err)
			}
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

// Cancel implements [Dispatcher].
func (d *DirectDispatcher) Cancel(ctx context.Context, t Target, taskID string) error {
	if t.Agent == "" {
		return Permanent(fmt.Errorf("%s: %w", t, ErrCapabilityTarget))
	}
	c, err := d.Client(ctx, t.Agent)
	if err != nil {
		return err
	}
	if _, err := c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: taskID}); err != nil {
		return fmt.Errorf("agent %s: cancel task %s: %w", t.Agent, taskID, err)
	}
	return nil
}

// Close closes every client made; sends in flight fail, later ones are
// refused.
func (d *DirectDispatcher) Close() error {
	d.mu.Lock()
	d.closed = true
	clients := d.clients
	d.clients = map[string]*lazyClient{}
	d.mu.Unlock()
	var errs []error
	for _, lc := range clients {
		lc.mu.Lock()
		if lc.c != nil {
			errs = append(errs, lc.c.Close())
			lc.c = nil
		}
		lc.mu.Unlock()
	}
	return errors.Join(errs...)
}

// ByTarget combines two dispatchers: steps with an agent URL go to agents,
// steps with a capability to capabilities. It is how a registry-backed
// router joins [Direct] without having to handle URLs itself. A nil
// dispatcher refuses its kind of target.
func ByTarget(agents, capabilities Dispatcher) Dispatcher {
	return byTarget{agents: agents, capabilities: capabilities}
}

type byTarget struct{ agents, capabilities Dispatcher }

func (b byTarget) pick(t Target) (Dispatcher, error) {
	d, what := b.agents, "agent URL"
	if t.Capability != nil {
		d, what = b.capabilities, "capability"
	}
	if d == nil {
		return nil, Permanent(fmt.Errorf("%s: no dispatcher for %s targets", t, what))
	}
	return d, nil
}

func (b byTarget) Send(ctx context.Context, t Target, req *a2av1.SendMessageRequest) iter.Seq2[*a2av1.StreamResponse, error] {
	d, err := b.pick(t)
	if err != nil {
		return func(yield func(*a2av1.StreamResponse, error) bool) { yield(nil, err) }
	}
	return d.Send(ctx, t, req)
}

func (b byTarget) Cancel(ctx context.Context, t Target, taskID string) error {
	d, err := b.pick(t)
	if err != nil {
		return err
	}
	return d.Cancel(ctx, t, taskID)
}
