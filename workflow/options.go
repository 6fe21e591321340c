package workflow

import "time"

// Option configures a run (see [Start]).
type Option func(*options)

type options struct {
	parallelism int
	cancelGrace time.Duration
}

// DefaultCancelGrace bounds how long a stopping step works at cancelling
// its remote task (see [WithCancelGrace]).
const DefaultCancelGrace = 10 * time.Second

func defaultOptions() options {
	return options{cancelGrace: DefaultCancelGrace}
}

// WithParallelism runs at most n steps at once; the others wait, pending,
// in definition order. n ≤ 0 (the default) means no limit beyond the
// dependencies. A step holds its slot through its retries.
func WithParallelism(n int) Option {
	return func(o *options) { o.parallelism = max(n, 0) }
}

// WithCancelGrace bounds how long a stopping step spends making sure its
// remote task stops: learning the task's id if the agent has not sent it
// yet, then cancelling it ([DefaultCancelGrace]). The run's context
// ending does not cut this short: a workflow stopped with Ctrl-C still
// cancels its remote tasks. d ≤ 0 means the default.
func WithCancelGrace(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.cancelGrace = d
		}
	}
}
