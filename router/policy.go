package router

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Balance says how a route spreads calls over the endpoints that offer its
// capability.
type Balance int

const (
	// BalanceDefault, the zero value, takes the router's default balance
	// (see [WithPolicy]), which is RoundRobin unless configured otherwise.
	BalanceDefault Balance = iota
	// RoundRobin takes the endpoints in turn.
	RoundRobin
	// LeastOutstanding picks the endpoint with the fewest calls in flight
	// from this router (an open stream counts until it ends), so that a
	// replica held busy by slow work gets no more until it catches up. Ties
	// are broken round-robin: the tied endpoint picked longest ago first.
	LeastOutstanding
)

// String is the name ParseRules accepts: "round_robin" or
// "least_outstanding" ("default" for the zero value).
func (b Balance) String() string {
	switch b {
	case BalanceDefault:
		return "default"
	case RoundRobin:
		return "round_robin"
	case LeastOutstanding:
		return "least_outstanding"
	}
	return fmt.Sprintf("Balance(%d)", int(b))
}

// Policy says how a route calls its endpoints.
//
// A Policy given to [Router.Route] or in a [Rule] is laid over the router's
// default policy field by field: a zero field takes the default's value.
// That is why "none" is spelled with a negative value where zero would
// otherwise mean "inherit" (Timeout, Retry.Jitter).
type Policy struct {
	// Balance spreads the calls that may go to any endpoint (zero: the
	// default's, else RoundRobin). Calls for a task with a known endpoint
	// go to that endpoint whatever the balance.
	Balance Balance

	// Timeout bounds each attempt: a unary call, or a stream's wait for
	// its first event (after which a stream lasts as long as the caller's
	// context: a task may legitimately run for hours). Zero takes the
	// default's; negative means no bound from the router. The endpoint
	// clients keep their own bound on unary calls without a deadline
	// (client.WithTimeout, 30 s unless set with [WithClientOptions]).
	Timeout time.Duration

	// Retry says how the operations that are safe to repeat are retried;
	// see [Retry] for which ones.
	Retry Retry

	// SharedState says that the endpoints of this route are replicas of
	// one agent sharing one task store (such as PostgreSQL), so that any
	// of them can answer for any task: task operations then go to any
	// endpoint (the task's last known one first), a retry or a resumed
	// stream moves to another replica, and ListTasks is allowed. Without
	// it a task is only ever asked of the endpoint that owns it.
	//
	// Being a bool, false cannot override a default policy that sets it:
	// set it per route instead when pools differ.
	SharedState bool
}

// Retry is the retry policy of the operations that are safe to repeat:
// GetTask, ListTasks, CancelTask (idempotent in effect: a retry that finds
// the task already canceled returns it), SubscribeToTask and the
// resubscription of a dropped stream, GetTaskPushNotificationConfig,
// ListTaskPushNotificationConfigs and GetExtendedAgentCard.
//
// SendMessage, SendStreamingMessage, CreateTaskPushNotificationConfig and
// DeleteTaskPushNotificationConfig are never repeated: a failed attempt
// may have reached the agent, and an agent must never get the same message
// twice from the router.
//
// An attempt is retried only when it failed with UNAVAILABLE, with
// DEADLINE_EXCEEDED while the caller's own context is still live (the
// attempt's Timeout fired), or with RESOURCE_EXHAUSTED carrying a
// Retry-After of at most a minute. The delay before retry n is
// InitialBackoff·Multiplier^(n-1), spread by ±Jitter (a fraction), capped
// at MaxBackoff, and never less than a Retry-After the endpoint asked for.
// A retry that would start after the caller's deadline is not attempted.
// Without SharedState a task's calls are retried on its endpoint;
// otherwise each retry prefers an endpoint not yet tried by the call.
//
// Zero fields take the default policy's values.
type Retry struct {
	// MaxAttempts counts the first attempt: 1 disables retries. For a
	// stream, the stream counts as the first attempt and each
	// resubscription in a row that delivers no event as another.
	MaxAttempts int
	// InitialBackoff is the delay before the first retry.
	InitialBackoff time.Duration
	// MaxBackoff caps every delay.
	MaxBackoff time.Duration
	// Multiplier grows the delay from one retry to the next (at least 1).
	Multiplier float64
	// Jitter spreads each delay uniformly over ±Jitter of it (0 to 1), so
	// that callers cut off together do not come back together. Negative
	// means none.
	Jitter float64
}

// Breaker configures the circuit breaker each endpoint has, shared by every
// route that uses the endpoint (see [WithBreaker]). It describes the
// endpoint's health, not what a route wants, which is why it is not part of
// [Policy].
//
// A breaker counts only failures that say the endpoint is unhealthy:
// UNAVAILABLE (unreachable, connection lost, draining), DEADLINE_EXCEEDED
// while the caller was still waiting (the attempt timed out), and
// INTERNAL_ERROR; and a card no client can be made from. Answers about the
// request (TASK_NOT_FOUND, INVALID_PARAMS, UNAUTHENTICATED,
// RESOURCE_EXHAUSTED...) count as successes, since the endpoint answered,
// and calls the caller abandoned are not counted at all.
//
// After Failures of those in a row the breaker opens: the endpoint gets no
// calls for OpenFor. Then it is half-open: up to HalfOpen calls are let
// through; as many successes close it, one failure opens it again.
type Breaker struct {
	// Failures is how many counted failures in a row open the breaker.
	Failures uint32
	// OpenFor is how long an open breaker stays open.
	OpenFor time.Duration
	// HalfOpen is how many trial calls a half-open breaker lets through.
	HalfOpen uint32
}

// Defaults.
var (
	// DefaultRetry is the retry policy of a router without [WithPolicy].
	DefaultRetry = Retry{MaxAttempts: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second, Multiplier: 2, Jitter: 0.2}
	// DefaultPolicy is the default policy of a router without [WithPolicy]:
	// round-robin, no timeout of the router's own, [DefaultRetry], no
	// shared state.
	DefaultPolicy = Policy{Balance: RoundRobin, Retry: DefaultRetry}
	// DefaultBreaker is the breaker of a router without [WithBreaker].
	DefaultBreaker = Breaker{Failures: 5, OpenFor: 30 * time.Second, HalfOpen: 1}
)

// over lays p over def: each zero field of p takes def's value.
func (p Policy) over(def Policy) Policy {
	if p.Balance == BalanceDefault {
		p.Balance = def.Balance
	}
	if p.Timeout == 0 {
		p.Timeout = def.Timeout
	}
	r, d := &p.Retry, def.Retry
	if r.MaxAttempts == 0 {
		r.MaxAttempts = d.MaxAttempts
	}
	if r.InitialBackoff == 0 {
		r.InitialBackoff = d.InitialBackoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = d.MaxBackoff
	}
	if r.Multiplier == 0 {
		r.Multiplier = d.Multiplier
	}
	if r.Jitter == 0 {
		r.Jitter = d.Jitter
	}
	p.SharedState = p.SharedState || def.SharedState
	return p
}

// Validate reports what is wrong with p, if anything: an unknown Balance,
// a negative MaxAttempts or backoff, a Multiplier below 1 (other than the
// zero that inherits), a Jitter above 1, or an InitialBackoff above
// MaxBackoff.
func (p Policy) Validate() error {
	var errs []error
	if p.Balance < BalanceDefault || p.Balance > LeastOutstanding {
		errs = append(errs, fmt.Errorf("balance: unknown value %d", int(p.Balance)))
	}
	r := p.Retry
	if r.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("retry.max_attempts: %d is negative", r.MaxAttempts))
	}
	if r.InitialBackoff < 0 {
		errs = append(errs, fmt.Errorf("retry.initial_backoff: %v is negative", r.InitialBackoff))
	}
	if r.MaxBackoff < 0 {
		errs = append(errs, fmt.Errorf("retry.max_backoff: %v is negative", r.MaxBackoff))
	}
	if r.InitialBackoff > 0 && r.MaxBackoff > 0 && r.InitialBackoff > r.MaxBackoff {
		errs = append(errs, fmt.Errorf("retry.initial_backoff: %v is above max_backoff %v", r.InitialBackoff, r.MaxBackoff))
	}
	if r.Multiplier != 0 && (r.Multiplier < 1 || math.IsNaN(r.Multiplier) || math.IsInf(r.Multiplier, 0)) {
		errs = append(errs, fmt.Errorf("retry.multiplier: %v is not a finite number of at least 1", r.Multiplier))
	}
	if r.Jitter > 1 || math.IsNaN(r.Jitter) {
		errs = append(errs, fmt.Errorf("retry.jitter: %v is above 1", r.Jitter))
	}
	return errors.Join(errs...)
}

// Validate reports what is wrong with b: zero Failures or HalfOpen, or a
// non-positive OpenFor.
func (b Breaker) Validate() error {
	var errs []error
	if b.Failures == 0 {
		errs = append(errs, errors.New("breaker.failures: must be at least 1"))
	}
	if b.OpenFor <= 0 {
		errs = append(errs, fmt.Errorf("breaker.open_for: %v must be positive", b.OpenFor))
	}
	if b.HalfOpen == 0 {
		errs = append(errs, errors.New("breaker.half_open: must be at least 1"))
	}
	return errors.Join(errs...)
}

// timeout is the per-attempt bound in effect (0: none).
func (p Policy) timeout() time.Duration { return max(p.Timeout, 0) }

// delay is the wait before retry n (1 for the first retry); u is a uniform
// random number in [0, 1).
//
// github.com/cenkalti/backoff/v5 is not used here although it is in
// go.mod: its Retry loop cannot move each attempt to another endpoint or
// report to a breaker, returns the context's cause instead of the last
// attempt's A2A error, and its ExponentialBackOff draws its jitter from the
// global source, which tests could not make repeatable ([WithRand]). What
// remains is the arithmetic below.
func (r Retry) delay(n int, u float64) time.Duration {
	d := float64(r.InitialBackoff)
	mult := max(r.Multiplier, 1)
	for i := 1; i < n && d < float64(r.MaxBackoff); i++ {
		d *= mult
	}
	if j := min(max(r.Jitter, 0), 1); j > 0 {
		d *= 1 + j*(2*u-1)
	}
	if r.MaxBackoff > 0 {
		d = min(d, float64(r.MaxBackoff))
	}
	return time.Duration(max(d, 0))
}
