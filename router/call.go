package router

import (
	"context"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
)

// op describes an operation to the call engine.
type op struct {
	name  string // the A2A method name, for metrics
	retry bool   // safe to repeat (see Retry)
}

var (
	opSendMessage      = op{"SendMessage", false}
	opSendStreaming    = op{"SendStreamingMessage", false}
	opGetTask          = op{"GetTask", true}
	opListTasks        = op{"ListTasks", true}
	opCancelTask       = op{"CancelTask", true}
	opSubscribe        = op{"SubscribeToTask", true}
	opCreatePushConfig = op{"CreateTaskPushNotificationConfig", false}
	opGetPushConfig    = op{"GetTaskPushNotificationConfig", true}
	opListPushConfigs  = op{"ListTaskPushNotificationConfigs", true}
	opDeletePushConfig = op{"DeleteTaskPushNotificationConfig", false}
	opExtendedCard     = op{"GetExtendedAgentCard", true}
)

// retryable reports whether a failed attempt may be repeated (the
// operation being safe to repeat and the caller's context live), and the
// least delay the endpoint asked for.
func retryable(ctx context.Context, err error) (bool, time.Duration) {
	if err == nil || ctx.Err() != nil {
		return false, 0
	}
	e := a2agrpc.AsError(err)
	switch e.Reason {
	case a2agrpc.ReasonUnavailable:
		return e.RetryAfter <= maxRetryAfter, e.RetryAfter
	case a2agrpc.ReasonDeadlineExceeded:
		// The caller's context is live, so the attempt's own bound fired.
		return true, 0
	case a2agrpc.ReasonResourceExhausted:
		return e.RetryAfter > 0 && e.RetryAfter <= maxRetryAfter, e.RetryAfter
	}
	return false, 0
}

// maxRetryAfter bounds how long an endpoint's Retry-After may hold a
// call: an endpoint asking for more is treated as refusing.
const maxRetryAfter = time.Minute

// wait sleeps before retry n unless ctx ends first or would end before the
// wait is over; it reports whether to go on.
func (rt *Route) wait(ctx context.Context, n int, floor time.Duration) bool {
	d := max(rt.policy.Retry.delay(n, rt.r.float()), floor)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// unary runs a unary operation per the route's policy: each attempt on a
// freshly picked endpoint, bounded by the policy's Timeout, retried when
// the operation is safe to repeat and the failure retryable. It returns
// the last attempt's result and endpoint (nil when none was made).
func unary[Resp any](ctx context.Context, rt *Route, o op, pl placement, call func(context.Context, *client.Client) (Resp, error)) (Resp, *endpoint, error) {
	var zero Resp
	var last error
	var lastEP *endpoint
	avoid := map[string]bool{}
	for attempt := 1; ; attempt++ {
		l, err := rt.pick(ctx, o, pl, avoid)
		if err != nil {
			if last != nil {
				// What the endpoint said says more than "none is left".
				return zero, lastEP, last
			}
			return zero, nil, err
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if t := rt.policy.timeout(); t > 0 {
			actx, cancel = context.WithTimeout(ctx, t)
		}
		resp, err := call(actx, l.c)
		cancel()
		rt.finish(ctx, l, o, err)
		if err == nil {
			return resp, l.ep, nil
		}
		last, lastEP = a2agrpc.AsError(err), l.ep
		if !o.retry || attempt >= rt.policy.Retry.MaxAttempts {
			return zero, lastEP, last
		}
		ok, floor := retryable(ctx, err)
		if !ok || !rt.wait(ctx, attempt, floor) {
			return zero, lastEP, last
		}
		avoid[l.ep.id] = true
		rt.r.met.retry(rt.name, o.name)
	}
}
