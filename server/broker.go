package server

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Event is one event of a stream: a StreamResponse and its sequence number in
// the task's event log (0 for events outside a task, i.e. a direct message
// reply). Bindings that can resume streams (SSE's Last-Event-ID) expose Seq.
type Event struct {
	Seq      int64
	Response *a2av1.StreamResponse

	queued int64 // when a subscriber queued it (monoNow), for a2a_event_fanout_seconds
}

// monoNow is nanoseconds on the monotonic clock: an int64 keeps queued
// events small where a time.Time would triple an Event's size.
func monoNow() int64 { return int64(time.Since(monoEpoch)) }

var monoEpoch = time.Now()

// broker fans a task's events out to its subscribers. A topic exists while a
// task has subscribers or a running execution in this process.
type broker struct {
	maxQueue int

	mu     sync.Mutex
	topics map[string]*topic
}

type topic struct {
	id   string
	refs int // guarded by broker.mu

	mu     sync.Mutex
	subs   map[*subscriber]struct{} // allocated on first subscriber
	closed bool
	last   int64 // highest Seq published: later copies of an event are dropped

	// fill serialises the publishers of a task shared with other processes
	// (see Handler.publish); unused otherwise.
	fill sync.Mutex
}

func newBroker(maxQueue int) *broker {
	return &broker{maxQueue: maxQueue, topics: make(map[string]*topic)}
}

// acquire returns the topic of a task, creating it; pair with release.
func (b *broker) acquire(taskID string) *topic {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[taskID]
	if t == nil {
		t = &topic{id: taskID}
		b.topics[taskID] = t
	}
	t.refs++
	return t
}

// subscribers counts the subscriptions of every topic, for the
// a2a_subscribers gauge. Topic locks are taken one at a time, after the
// broker's, as everywhere else.
func (b *broker) subscribers() int {
	b.mu.Lock()
	topics := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		topics = append(topics, t)
	}
	b.mu.Unlock()
	n := 0
	for _, t := range topics {
		t.mu.Lock()
		n += len(t.subs)
		t.mu.Unlock()
	}
	return n
}

// lookup acquires the topic of a task only if it exists: someone in this
// process follows the task. Pair a non-nil result with release.
func (b *broker) lookup(taskID string) *topic {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[taskID]
	if t != nil {
		t.refs++
	}
	return t
}

// ids returns the tasks that have a topic.
func (b *broker) ids() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.topics))
	for id := range b.topics {
		out = append(out, id)
	}
	return out
}

// position is where a follower must read a task's log from so that every
// subscriber gets every event: after the last event published here or, if
// none was, after the earliest state a subscriber started from.
func (t *topic) position() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last > 0 {
		return t.last
	}
	pos := int64(-1)
	for s := range t.subs {
		s.mu.Lock()
		if pos < 0 || s.from < pos {
			pos = s.from
		}
		s.mu.Unlock()
	}
	return max(pos, 0)
}

func (b *broker) release(t *topic) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t.refs--
	if t.refs == 0 && b.topics[t.id] == t {
		delete(b.topics, t.id)
	}
}

// subscribe registers a subscriber that queues every event from now on.
// The caller then reads the task's state and calls [subscriber.start] with
// the version it read: queued events already reflected in that state are
// dropped. No store read happens under the topic lock, so a slow store never
// delays the task's publisher.
// fanout, if not nil, is told how long each event waited for the reader.
func (t *topic) subscribe(maxQueue int, fanout prometheus.Observer) *subscriber {
	s := &subscriber{max: maxQueue, notify: make(chan struct{}, 1), fanout: fanout}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		s.done = true
	} else {
		if t.subs == nil {
			t.subs = make(map[*subscriber]struct{})
		}
		t.subs[s] = struct{}{}
	}
	return s
}

func (t *topic) unsubscribe(s *subscriber) {
	t.mu.Lock()
	delete(t.subs, s)
	t.mu.Unlock()
}

// publish delivers one event to every subscriber without ever blocking: a
// subscriber whose queue is full is cut off with a ResourceExhausted error
// and can resubscribe. final ends every subscription after the event (the
// task reached a terminal state).
//
// An event reaches a topic at most once even when two sources race to
// publish it: the process that wrote it, and the follower that reads it back
// from a shared store's log (see follow.go).
func (t *topic) publish(ev Event, final bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ev.Seq != 0 {
		if ev.Seq <= t.last {
			return
		}
		t.last = ev.Seq
	}
	for s := range t.subs {
		if !s.offer(ev) {
			delete(t.subs, s)
		}
		if final {
			s.finish(nil)
		}
	}
	if final {
		clear(t.subs)
		t.closed = true
	}
}

// subscriber is one stream's bounded queue. Memory is proportional to its
// backlog: an idle subscriber holds no buffer.
type subscriber struct {
	max    int
	notify chan struct{} // capacity 1: "something changed"
	fanout prometheus.Observer

	mu    sync.Mutex
	from  int64 // events with 0 < Seq <= from are already known to the reader
	queue []Event
	done  bool  // no more events will be queued
	err   error // reported after the queue drains; nil means a clean end
}

var errSlowSubscriber = a2agrpc.NewError(a2agrpc.ReasonResourceExhausted,
	"stream consumer too slow: events were dropped; subscribe again to resume")

// offer queues ev; false if the subscriber was cut off for being too slow.
func (s *subscriber) offer(ev Event) bool {
	s.mu.Lock()
	if ev.Seq != 0 && ev.Seq <= s.from {
		s.mu.Unlock()
		return true
	}
	if s.done {
		s.mu.Unlock()
		return false
	}
	if len(s.queue) >= s.max {
		s.queue, s.done, s.err = nil, true, errSlowSubscriber
		s.mu.Unlock()
		s.wake()
		return false
	}
	if s.fanout != nil {
		ev.queued = monoNow()
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	s.wake()
	return true
}

// start fixes where the stream begins: first is sent before anything
// queued, and queued events with Seq <= from (already covered by first or
// by the state the reader has) are dropped.
func (s *subscriber) start(from int64, first ...Event) {
	s.mu.Lock()
	s.from = from
	kept := make([]Event, 0, len(first)+len(s.queue))
	kept = append(kept, first...)
	for _, ev := range s.queue {
		if ev.Seq == 0 || ev.Seq > from {
			kept = append(kept, ev)
		}
	}
	if len(kept) > 0 {
		s.queue = kept
	} else {
		s.queue = nil
	}
	s.mu.Unlock()
	s.wake()
}

// finish ends the stream after the queued events, with err (nil: clean end).
func (s *subscriber) finish(err error) {
	s.mu.Lock()
	if !s.done {
		s.done, s.err = true, err
	}
	s.mu.Unlock()
	s.wake()
}

func (s *subscriber) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// next returns the next event, io.EOF at a clean end, the stream's error, or
// ctx's error.
func (s *subscriber) next(ctx context.Context, buf *[]Event) (Event, error) {
	for {
		if len(*buf) > 0 {
			ev := (*buf)[0]
			(*buf)[0] = Event{}
			*buf = (*buf)[1:]
			if s.fanout != nil && ev.queued != 0 {
				s.fanout.Observe(time.Duration(monoNow() - ev.queued).Seconds())
			}
			return ev, nil
		}
		s.mu.Lock()
		if len(s.queue) > 0 {
			*buf, s.queue = s.queue, nil
			s.mu.Unlock()
			continue
		}
		done, err := s.done, s.err
		s.mu.Unlock()
		if done {
			if err == nil {
				err = io.EOF
			}
			return Event{}, err
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return Event{}, context.Cause(ctx)
		}
	}
}
