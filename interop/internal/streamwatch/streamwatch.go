// Package streamwatch reads a stream in the background for interop checks
// that act while it is open (cancel a task once its subscription has
// begun). It imports neither A2A SDK, so the a2a-go checks and the driver
// of our client, which can never share a binary, share it.
package streamwatch

import "iter"

// Result is how a stream went: every event, and the error that ended it
// (nil for a clean end).
type Result[E any] struct {
	Events []E
	Err    error
}

// Watch is a stream being read. First is closed when the first event
// arrives; Done delivers the Result once the stream has ended.
type Watch[E any] struct {
	First <-chan struct{}
	Done  <-chan Result[E]
}

// Start reads seq in a goroutine until it ends.
func Start[E any](seq iter.Seq2[E, error]) Watch[E] {
	first := make(chan struct{})
	done := make(chan Result[E], 1)
	go func() {
		var r Result[E]
		for ev, err := range seq {
			if err != nil {
				r.Err = err
				break
			}
			if len(r.Events) == 0 {
				close(first)
			}
			r.Events = append(r.Events, ev)
		}
		done <- r
	}()
	return Watch[E]{First: first, Done: done}
}
