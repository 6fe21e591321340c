package grpcserver

import (
	"context"

	"github.com/a2agrpc/a2agrpc"
)

// errDraining ends streams when the server shuts down; clients retry on
// UNAVAILABLE, typically against another replica.
var errDraining = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "server is shutting down; reconnect and resubscribe")

// drain tells streams that only follow a task (they could otherwise stay
// open forever) that the server is going away. Calls that wait for an agent
// need no signal: shutdown interrupts the agents, which settles their tasks
// and so ends those calls with the task's final state.
type drain struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func newDrain() *drain {
	d := &drain{}
	d.ctx, d.cancel = context.WithCancelCause(context.Background())
	return d
}

// follow derives a context for a following stream that is cancelled with
// errDraining when the server starts draining.
func (d *drain) follow(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(d.ctx, func() { cancel(errDraining) })
	return ctx, func() { stop(); cancel(nil) }
}

func (d *drain) begin() { d.cancel(errDraining) }
