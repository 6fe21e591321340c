package client

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/a2agrpc/a2agrpc"
)

// RetryPolicy says how idempotent calls (GetTask, ListTasks, the push
// config reads, GetExtendedAgentCard, the card fetch) are retried; stream
// resumption uses its backoff too, for as long as [WithResumeWindow] says. SendMessage, CancelTask and the push config
// writes are never retried: repeating them could repeat their effect.
//
// A call is retried only when it failed with ReasonUnavailable (the server
// could not be reached, the connection dropped, the server is draining) or
// with ReasonResourceExhausted carrying a Retry-After. The delay before
// attempt n is drawn uniformly from [0, min(MaxBackoff,
// InitialBackoff·2ⁿ)] ("full jitter", so that clients cut off together do
// not come back together), but never less than the server's Retry-After. A
// retry that would outlive the call's deadline is not attempted.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt; 1 disables retries.
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// DefaultRetryPolicy is used without [WithRetry].
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}

// retryable reports whether a failed idempotent call may be tried again,
// and the least delay the server asked for.
func retryable(err error) (bool, time.Duration) {
	if err == nil {
		return false, 0
	}
	e := a2agrpc.AsError(err)
	switch e.Reason {
	case a2agrpc.ReasonUnavailable:
		return true, e.RetryAfter
	case a2agrpc.ReasonResourceExhausted:
		return e.RetryAfter > 0, e.RetryAfter
	}
	return false, 0
}

// maxRetryAfter bounds how long a server's Retry-After can hold a call or
// a stream: a server asking for more is treated as refusing.
const maxRetryAfter = time.Minute

// backoff is the delay before retry number attempt (1 for the first
// retry).
func (p RetryPolicy) backoff(attempt int, floor time.Duration) time.Duration {
	ceil := p.InitialBackoff
	for i := 1; i < attempt && ceil < p.MaxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, p.MaxBackoff)
	d := time.Duration(0)
	if ceil > 0 {
		d = rand.N(ceil + 1)
	}
	return max(d, floor)
}

// wait sleeps d unless ctx ends first or would end before d is over (then
// there is no point in waiting); it reports whether to go on.
func wait(ctx context.Context, d time.Duration) bool {
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

// do runs call, retrying it per the policy when idempotent. The error
// returned is the last attempt's.
func (p RetryPolicy) do(ctx context.Context, idempotent bool, call func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		if err == nil || !idempotent || attempt >= p.MaxAttempts || ctx.Err() != nil {
			return err
		}
		ok, floor := retryable(err)
		if !ok || floor > maxRetryAfter || !wait(ctx, p.backoff(attempt, floor)) {
			return err
		}
	}
}
