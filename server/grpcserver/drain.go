package grpcserver

import (
	"context"

	"github.com/a2agrpc/a2agrpc"
)

// errDraining ends streams when the server shuts down; clients retry on
// UNAVAILABLE, typically against another replica.
var errDraining = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "server is shutting down; reconnect and resubscribe")

// drain tells open streams the server is going away, in two steps: soft
// (streams that only follow a task end now) and hard (every stream ends,
// when the drain deadline passes).
type drain struct {
	soft, hard             context.Context
	softCancel, hardCancel context.CancelCauseFunc
}

func newDrain() *drain {
	d := &drain{}
	d.soft, d.softCancel = context.WithCancelCause(context.Background())
	d.hard, d.hardCancel = context.WithCancelCause(context.Background())
	return d
}

// bind derives a stream context that is cancelled with errDraining at the
// soft step (following streams) or the hard step (all).
func (d *drain) bind(ctx context.Context, following bool) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	signal := d.hard
	if following {
		signal = d.soft
	}
	stop := context.AfterFunc(signal, func() { cancel(errDraining) })
	return ctx, func() { stop(); cancel(nil) }
}

func (d *drain) begin() { d.softCancel(errDraining) }
func (d *drain) force() { d.softCancel(errDraining); d.hardCancel(errDraining) }
