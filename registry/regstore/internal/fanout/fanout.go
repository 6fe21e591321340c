// Package fanout delivers a store's changes to its in-process watchers.
//
// Every store (memory, SQLite, and PostgreSQL after its LISTEN connection
// has decoded a notification) ends in the same place: one stream of changes
// to copy into many watcher channels. A writer must never wait for a slow
// watcher, so delivery never blocks: a watcher whose buffer is full loses its
// pending changes and is sent the resync value instead, telling it to reload
// the whole state. Dropping the queue rather than the newest change keeps the
// resync last in line, after everything it supersedes.
//
// The package is generic so that package regstore (whose in-memory store
// uses it) can import it without an import cycle.
package fanout

import (
	"context"
	"sync"
)

// DefaultBuffer is how many changes a watcher may fall behind by before it
// is sent a resync instead.
// It holds several notifications' worth of changes (PostgreSQL sends up to
// 300 per notification), so a mass expiry does not force every replica
// into a full reload.
const DefaultBuffer = 2048

// Hub broadcasts values of type T to subscribers. It is safe for concurrent
// use; values published by one goroutine, or under one lock of the caller,
// reach every subscriber in publish order.
type Hub[T any] struct {
	buf    int
	resync T
	clone  func(T) T

	mu     sync.Mutex
	subs   map[*sub[T]]struct{}
	closed bool
}

type sub[T any] struct {
	ch   chan T
	stop func() bool // unregisters the context.AfterFunc that unsubscribes
}

// New returns a hub whose subscribers buffer up to buf values (buf < 1:
// [DefaultBuffer]). resync is sent to a subscriber that fell behind. clone,
// if not nil, is applied to a value once per subscriber, so that subscribers
// never share (and cannot corrupt each other's) values.
func New[T any](buf int, resync T, clone func(T) T) *Hub[T] {
	if buf < 1 {
		buf = DefaultBuffer
	}
	return &Hub[T]{buf: buf, resync: resync, clone: clone, subs: map[*sub[T]]struct{}{}}
}

// Subscribe returns a channel that receives every value published from now
// on, until ctx ends or the hub is closed; the channel is then closed.
// ok is false, and the channel nil, if the hub is already closed.
func (h *Hub[T]) Subscribe(ctx context.Context) (ch <-chan T, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	s := &sub[T]{ch: make(chan T, h.buf)}
	h.subs[s] = struct{}{}
	// AfterFunc may run at once (ctx already done); it takes h.mu, which
	// it gets after this function returns.
	s.stop = context.AfterFunc(ctx, func() { h.unsubscribe(s) })
	return s.ch, true
}

func (h *Hub[T]) unsubscribe(s *sub[T]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Publish sends v to every subscriber without blocking.
func (h *Hub[T]) Publish(v T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		c := v
		if h.clone != nil {
			c = h.clone(v)
		}
		select {
		case s.ch <- c:
		default:
			h.overflow(s)
		}
	}
}

// Resync sends the resync value to every subscriber, dropping whatever they
// have not read yet (a reload makes it redundant). Stores call it when they
// may have missed changes, for example after reconnecting to a database.
func (h *Hub[T]) Resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		h.overflow(s)
	}
}

// overflow empties s's buffer and queues the resync value. Only the hub
// sends on s.ch, under h.mu, and the subscriber only receives, so once the
// buffer is drained the send below cannot block.
func (h *Hub[T]) overflow(s *sub[T]) {
	for {
		select {
		case <-s.ch:
			continue
		default:
		}
		break
	}
	s.ch <- h.resync
}

// Close closes every subscriber's channel; later Subscribe calls fail.
// Close is idempotent.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		s.stop()
		close(s.ch)
	}
	clear(h.subs)
}

// Len reports how many subscribers are open (for tests and metrics).
func (h *Hub[T]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
