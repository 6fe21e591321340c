package client

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/taskevent"
)

// resumable turns a transport stream into the caller's iterator, resuming
// it through SubscribeToTask when it drops before the task's final event.
//
// A stream has dropped when it fails with a retryable error (the
// connection was lost, the server is draining), when the server ended it
// because its token expired and a token source can give a fresh one, or
// when it ends cleanly without the
// event that ends it (a proxy closed an idle response). It is resumed only
// once a task is known, since a stream that never named one has nothing
// to subscribe to; the first attempt of SendStreamingMessage itself is
// never repeated.
//
// Events carry the sequence number of the task's event log on the
// transports that have one; the resumed subscription starts after the
// last one delivered, and anything at or before it is skipped, so no
// event reaches the caller twice.
//
// A send's stream ends when the task is interrupted (INPUT_REQUIRED,
// AUTH_REQUIRED); a subscription's goes on until the task is terminal.
func (c *Client) resumable(ctx context.Context, tenant string, subscription bool, first stream) iter.Seq2[*a2av1.StreamResponse, error] {
	return func(yield func(*a2av1.StreamResponse, error) bool) {
		r := resumer{c: c, tenant: tenant, subscription: subscription}
		s := first
		for {
			stop, err := r.drain(s, yield)
			if stop {
				return
			}
			next, err := r.resume(ctx, err)
			if err != nil {
				if !errors.Is(err, errEnded) {
					yield(nil, err)
				}
				return
			}
			s = next
		}
	}
}

// errEnded says the stream ended as it should: nothing to report.
var errEnded = errors.New("stream ended")

// resumer is the state of one resumable stream.
type resumer struct {
	c            *Client
	tenant       string
	subscription bool
	taskID       string
	lastSeq      int64
	final        bool      // the last event ends the stream
	failures     int       // consecutive resumptions without an event
	droppedAt    time.Time // when the current run of failures began
	resumed      bool
	got          bool      // the current stream delivered an event
	opened       time.Time // when the current stream was opened
}

// drain passes s's events on; it returns whether the caller stopped
// iterating, and the error that ended s (nil for a clean end).
func (r *resumer) drain(s stream, yield func(*a2av1.StreamResponse, error) bool) (stop bool, err error) {
	r.got, r.opened = false, time.Now()
	for ev, err := range s {
		if err != nil {
			return false, err
		}
		if ev.seq > 0 {
			if ev.seq <= r.lastSeq {
				continue // replayed by the server: already delivered
			}
			r.lastSeq = ev.seq
		}
		r.got, r.failures = true, 0
		if id := taskevent.TaskID(ev.resp); id != "" {
			r.taskID = id
		}
		r.final = taskevent.EndsStream(ev.resp, !r.subscription)
		if !yield(ev.resp, nil) {
			return true, nil
		}
	}
	return false, nil
}

// resume decides what follows a stream that ended with err (nil: cleanly):
// a new subscription, or the end (errEnded, or the error to report).
func (r *resumer) resume(ctx context.Context, err error) (stream, error) {
	c := r.c
	switch {
	case r.final:
		// The event that ends the stream arrived: whatever followed it
		// (a cut connection) lost nothing.
		return nil, errEnded
	case err == nil && r.taskID == "":
		return nil, errEnded
	case err != nil && r.resumed && !r.got && errors.Is(err, a2agrpc.ErrUnsupportedOperation):
		// The task ended while we were away and this transport cannot
		// replay: its final state stands in for the missed events.
		return r.finalState(ctx)
	case c.cfg.noResume || r.taskID == "" || ctx.Err() != nil:
		if err == nil {
			return nil, errEnded
		}
		return nil, err
	}
	if err == nil {
		err = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "the stream ended before the task did")
	}
	ok, floor := retryable(err)
	if !ok && !r.reauthenticates(err) {
		return nil, err
	}
	if r.failures == 0 {
		r.droppedAt = time.Now()
	}
	r.failures++
	// A restart or a drain takes seconds, not the sub-second budget of a
	// unary retry: resumption keeps trying for the resume window.
	if time.Since(r.droppedAt) > c.cfg.resumeWindow {
		return nil, err
	}
	if floor > maxRetryAfter || !wait(ctx, c.cfg.retry.backoff(r.failures, floor)) {
		return nil, err
	}
	after := int64(-1)
	if r.lastSeq > 0 {
		after = r.lastSeq
	}
	r.resumed = true
	return c.t.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: r.taskID, Tenant: r.tenant}, after), nil
}

// reauthenticates reports whether a stream the server ended because its
// credential expired can be resumed with a fresh one from the client's
// token source. Such an end proves the token worked for its whole life, so
// a stream that lived a while is healthy and starts a new run of failures;
// tokens that expire as soon as they are issued go through the usual
// backoff and resume window instead of looping.
func (r *resumer) reauthenticates(err error) bool {
	e := a2agrpc.AsError(err)
	if r.c.cfg.tokens == nil || e.Reason != a2agrpc.ReasonUnauthenticated || e.Metadata[a2agrpc.MetaCredentialEnded] != "expired" {
		return false
	}
	if time.Since(r.opened) >= healthyStreamLife {
		r.failures = 0
	}
	return true
}

// healthyStreamLife is how long a stream must have lived for its end by
// credential expiry not to count as a failure.
const healthyStreamLife = time.Second

// finalState yields the task as it is now, as a one-event stream.
func (r *resumer) finalState(ctx context.Context) (stream, error) {
	task, err := r.c.GetTask(ctx, &a2av1.GetTaskRequest{Id: r.taskID, Tenant: r.tenant})
	if err != nil {
		return nil, err
	}
	return func(yield func(event, error) bool) {
		yield(event{resp: &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_Task{Task: task}}}, nil)
	}, nil
}
