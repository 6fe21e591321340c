package server

import (
	"sync"
	"time"
)

// workers runs executions on reused goroutines. A fresh goroutine per
// execution starts with a small stack that has to grow through the agent's
// call chain every time; under load that regrowth is a measurable share of
// the cost of a send. Idle workers wait for work for a while and then exit,
// so an idle server holds none.
type workers struct {
	idle     chan func()
	quit     chan struct{}
	idleTime time.Duration

	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

func newWorkers(idleTime time.Duration) *workers {
	return &workers{idle: make(chan func()), quit: make(chan struct{}), idleTime: idleTime}
}

// run executes f on an idle worker, or on a new one if none is waiting.
func (w *workers) run(f func()) {
	select {
	case w.idle <- f:
		return
	default:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		go f() // after stop: still run, never drop accepted work
		return
	}
	w.wg.Add(1)
	go w.loop(f)
}

func (w *workers) loop(f func()) {
	defer w.wg.Done()
	timer := time.NewTimer(w.idleTime)
	defer timer.Stop()
	for {
		f()
		timer.Reset(w.idleTime)
		select {
		case f = <-w.idle:
		case <-timer.C:
			return
		case <-w.quit:
			return
		}
	}
}

// stop makes idle workers exit and waits for all of them to finish their
// current work.
func (w *workers) stop() {
	w.signal()
	w.wg.Wait()
}

// signal makes idle workers exit, and busy ones once their work is done,
// without waiting for them.
func (w *workers) signal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.stopped = true
		close(w.quit)
	}
}
