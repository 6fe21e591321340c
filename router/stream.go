package router

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/taskevent"
)

// SendStreamingMessage sends a message to one endpoint and streams the
// task's events. The message is sent at most once, as [Route.SendMessage]
// sends it. If the stream drops after the task is known (UNAVAILABLE, or
// an end before the event that should end it), the route follows the task
// by subscription, as [Route.SubscribeToTask] resumes; the message is not
// sent again. A stream that fails before any task exists reports the
// error.
//
// Policy.Timeout bounds the wait for the first event of each stream
// opened; after that the stream lasts as long as ctx.
func (rt *Route) SendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) iter.Seq2[*a2av1.StreamResponse, error] {
	return func(yield func(*a2av1.StreamResponse, error) bool) {
		pl, err := rt.placeTask(ctx, req.GetTenant(), req.GetMessage().GetTaskId())
		if err != nil {
			yield(nil, err)
			return
		}
		l, err := rt.pick(ctx, opSendStreaming, pl, nil)
		if err != nil {
			yield(nil, err)
			return
		}
		f := &follower{rt: rt, tenant: req.GetTenant(), yield: yield}
		stop, err := f.drain(ctx, l, opSendStreaming, func(ctx context.Context, c *client.Client) iter.Seq2[*a2av1.StreamResponse, error] {
			return c.SendStreamingMessage(ctx, req)
		})
		switch {
		case stop || f.final:
		case f.taskID == "":
			// No task: a direct reply that ended the stream, or a failure
			// before the agent made one. Nothing to follow either way.
			if err != nil {
				yield(nil, err)
			}
		default:
			f.resume(ctx, err)
		}
	}
}

// SubscribeToTask streams a task's events from its endpoint (any endpoint
// with SharedState): first the current Task, then its updates until it
// ends. A stream that fails retryably (see [Retry]) or ends before the
// task does is resubscribed, on another endpoint with SharedState; the
// first stream and each resubscription in a row that delivers no event
// count as one of Retry.MaxAttempts.
//
// Each resubscription starts with the task's current state as a Task
// event, so events missed meanwhile are summed up rather than replayed,
// whatever the transport (the endpoint clients' own resumption, which can
// replay, is off: it could neither move to another endpoint nor tell the
// breaker). If the task ended meanwhile, its final state is the last
// event.
//
// Policy.Timeout bounds the wait for the first event of each stream
// opened; after that the stream lasts as long as ctx.
func (rt *Route) SubscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest) iter.Seq2[*a2av1.StreamResponse, error] {
	return func(yield func(*a2av1.StreamResponse, error) bool) {
		pl, err := rt.placeTask(ctx, req.GetTenant(), req.GetId())
		if err != nil {
			yield(nil, err)
			return
		}
		f := &follower{rt: rt, tenant: req.GetTenant(), taskID: req.GetId(), subscription: true, yield: yield, home: pl.pinned}
		l, err := rt.pick(ctx, opSubscribe, pl, nil)
		if err == nil {
			var stop bool
			stop, err = f.drain(ctx, l, opSubscribe, func(ctx context.Context, c *client.Client) iter.Seq2[*a2av1.StreamResponse, error] {
				return c.SubscribeToTask(ctx, req)
			})
			if stop || f.final {
				return
			}
		}
		if f.taskID == "" {
			if err != nil {
				yield(nil, err)
			}
			return
		}
		f.resume(ctx, err)
	}
}

// follower is the state of one routed stream across the streams it is
// made of.
type follower struct {
	rt           *Route
	tenant       string
	subscription bool // ends at terminal states only, not interrupted ones
	yield        func(*a2av1.StreamResponse, error) bool

	taskID string
	home   *endpoint // the endpoint of the last stream
	final  bool      // the last event may end the stream
	got    bool      // the last stream delivered an event
}

// errFirstEvent is the cause of a stream canceled for its first event not
// arriving within the policy's Timeout.
var errFirstEvent = errors.New("router: no first event within the timeout")

// drain opens one stream on lease l and passes its events on; it returns
// whether the caller stopped iterating, and the error that ended the
// stream (nil for a clean end).
//
// The breaker hears of the stream once: at its first event (healthy), or
// at its end without one. A stream that breaks later with an unhealthy
// error counts one more failure.
func (f *follower) drain(ctx context.Context, l *lease, o op, open func(context.Context, *client.Client) iter.Seq2[*a2av1.StreamResponse, error]) (stop bool, err error) {
	rt := f.rt
	f.home, f.got = l.ep, false
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var timer *time.Timer
	if t := rt.policy.timeout(); t > 0 {
		timer = time.AfterFunc(t, func() { cancel(errFirstEvent) })
	}
	reported, learned := false, ""
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		if !reported {
			l.done(verdict(ctx, err))
		} else if err != nil {
			if v := verdict(ctx, err); v != nil && !errors.Is(v, errNotCounted) {
				record(l.ep.brk, v)
			}
		}
		l.ep.release()
		if !l.ep.replaced.Load() {
			rt.r.met.call(rt.name, l.ep.id, o.name, outcome(err))
		}
	}()
	for ev, serr := range open(sctx, l.c) {
		if serr != nil {
			if errors.Is(context.Cause(sctx), errFirstEvent) && ctx.Err() == nil {
				if f.got {
					// The timer fired as the first event arrived: a cut
					// like any other, resumed.
					serr = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "router: stream cut")
				} else {
					serr = a2agrpc.Errorf(a2agrpc.ReasonDeadlineExceeded, "router: no event from agent %q within %v", l.ep.id, rt.policy.timeout())
				}
			}
			return false, a2agrpc.AsError(serr)
		}
		if !f.got {
			f.got = true
			if timer != nil {
				timer.Stop()
			}
			reported = true
			l.done(nil)
		}
		if id := taskevent.TaskID(ev); id != "" && id != learned {
			learned, f.taskID = id, id
			rt.learn(id, l.ep)
		}
		f.final = taskevent.EndsStream(ev, !f.subscription)
		if !f.yield(ev, nil) {
			return true, nil
		}
	}
	return false, nil
}

// resume follows the task by subscription after its stream ended with err
// (nil: cleanly but too early), until the task ends, the caller stops, or
// the stream and the resubscriptions after it have failed
// Retry.MaxAttempts times in a row without an event.
func (f *follower) resume(ctx context.Context, err error) {
	rt := f.rt
	failures := 0
	for {
		if err == nil {
			err = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "router: the stream ended before the task did")
		}
		if f.got {
			failures = 0
		}
		f.got = false
		ok, floor := retryable(ctx, err)
		failures++
		if !ok || failures >= rt.policy.Retry.MaxAttempts || !rt.wait(ctx, failures, floor) {
			f.yield(nil, err)
			return
		}
		rt.r.met.retry(rt.name, opSubscribe.name)
		var pl placement
		var avoid map[string]bool
		switch {
		case rt.policy.SharedState:
			if f.home != nil {
				avoid = map[string]bool{f.home.id: true}
			}
		default:
			// Only the task's endpoint has it: the same ID, whose struct
			// may have been replaced by a new card meanwhile.
			var ep *endpoint
			if f.home != nil {
				ep = rt.r.endpoint(f.home.id)
			}
			if ep == nil {
				f.yield(nil, err)
				return
			}
			pl.pinned = ep
		}
		l, perr := rt.pick(ctx, opSubscribe, pl, avoid)
		if perr != nil {
			err = perr
			continue
		}
		req := &a2av1.SubscribeToTaskRequest{Tenant: f.tenant, Id: f.taskID}
		stop, serr := f.drain(ctx, l, opSubscribe, func(ctx context.Context, c *client.Client) iter.Seq2[*a2av1.StreamResponse, error] {
			return c.SubscribeToTask(ctx, req)
		})
		if stop || f.final {
			return
		}
		if serr != nil && !f.got && errors.Is(serr, a2agrpc.ErrUnsupportedOperation) {
			// The task ended while we were away (a finished task cannot be
			// subscribed to): its final state stands for the missed events.
			task, gerr := rt.GetTask(ctx, &a2av1.GetTaskRequest{Tenant: f.tenant, Id: f.taskID})
			if gerr != nil {
				f.yield(nil, gerr)
			} else {
				f.yield(&a2av1.StreamResponse{Payload: &a2av1.StreamResponse_Task{Task: task}}, nil)
			}
			return
		}
		err = serr
	}
}
