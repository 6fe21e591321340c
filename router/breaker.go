package router

import (
	"context"
	"errors"

	"github.com/sony/gobreaker/v2"

	"github.com/a2agrpc/a2agrpc"
)

// BreakerState is the state of an endpoint's circuit breaker.
type BreakerState string

// Breaker states.
const (
	BreakerClosed   BreakerState = "closed"
	BreakerHalfOpen BreakerState = "half-open"
	BreakerOpen     BreakerState = "open"
)

// String returns the state's name.
func (s BreakerState) String() string { return string(s) }

func stateOf(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateOpen:
		return BreakerOpen
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	}
	return BreakerClosed
}

// breaker is one endpoint's circuit breaker. It is the two-step kind
// because a stream's outcome is known only at its first event, long after
// it was let through.
type breaker = gobreaker.TwoStepCircuitBreaker[struct{}]

// errNotCounted is reported for calls whose outcome says nothing about the
// endpoint (the caller gave up): gobreaker excludes it from its counts.
var errNotCounted = errors.New("router: outcome not counted")

func newBreaker(name string, b Breaker, onChange func(from, to gobreaker.State)) *breaker {
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: b.HalfOpen,
		Timeout:     b.OpenFor,
		// Interval 0: counts are cleared only by a success or a change of
		// state, so Failures means failures in a row however far apart.
		ReadyToTrip:   func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= b.Failures },
		IsExcluded:    func(err error) bool { return errors.Is(err, errNotCounted) },
		OnStateChange: func(_ string, from, to gobreaker.State) { onChange(from, to) },
	})
}

// verdict is what an endpoint's breaker records for a call that ended with
// err, the caller's context being ctx: nil (healthy) when the endpoint
// answered, whatever it answered; err when the answer says the endpoint is
// unhealthy; errNotCounted when the caller gave up first.
func verdict(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return errNotCounted
	case unhealthy(err):
		return err
	}
	return nil
}

// unhealthy reports whether err says the endpoint is in trouble rather
// than the request: unreachable or dropped (UNAVAILABLE), too slow while
// the caller still waited (DEADLINE_EXCEEDED), or failing inside
// (INTERNAL_ERROR). Errors of any other reason are answers about the
// request and leave the breaker closed.
func unhealthy(err error) bool {
	switch a2agrpc.AsError(err).Reason {
	case a2agrpc.ReasonUnavailable, a2agrpc.ReasonDeadlineExceeded, a2agrpc.ReasonInternal:
		return true
	}
	return false
}

// record counts one outcome on b outside of a call it let through (a
// stream that drops after its first event); an open breaker ignores it.
func record(b *breaker, verdict error) {
	if done, err := b.Allow(); err == nil {
		done(verdict)
	}
}
