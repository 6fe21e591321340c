package server

import (
	"context"
	"errors"
	"sync"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// follower brings other processes' writes into this process when the store
// is shared ([taskstore.Watcher]): subscribers here stream, in order, the
// events of a task that runs elsewhere, and an execution here stops when
// another process ends its task (a CancelTask received by another replica).
//
// Notifications carry only (task, seq); the store's event log is the one
// source of events, so a missed or duplicated notification costs a read,
// never an event. Notifications for tasks nobody here follows are dropped
// without touching the store.
type follower struct {
	h    *Handler
	wake chan struct{}

	mu    sync.Mutex
	dirty map[string]struct{}
	all   bool // notifications may have been lost: re-read every topic
}

func newFollower(h *Handler) *follower {
	return &follower{h: h, wake: make(chan struct{}, 1), dirty: make(map[string]struct{})}
}

// notify is the Watcher callback; it never blocks.
func (f *follower) notify(n taskstore.Notification) {
	if n.TaskID != "" {
		t := f.h.broker.lookup(n.TaskID)
		if t == nil {
			return
		}
		t.mu.Lock()
		news := n.Seq > t.last
		t.mu.Unlock()
		f.h.broker.release(t)
		if !news {
			return // this process published it already
		}
	}
	f.mu.Lock()
	if n.TaskID == "" {
		f.all = true
	} else {
		f.dirty[n.TaskID] = struct{}{}
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run applies notifications until ctx ends.
func (f *follower) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		f.mu.Lock()
		dirty, all := f.dirty, f.all
		f.dirty, f.all = make(map[string]struct{}), false
		f.mu.Unlock()
		if all {
			for _, id := range f.h.broker.ids() {
				dirty[id] = struct{}{}
			}
		}
		for id := range dirty {
			if err := f.catchUp(ctx, id); err != nil && ctx.Err() == nil {
				f.h.log.Warn("a2agrpc: following a task written by another process", "task", id, "err", err)
			}
		}
	}
}

// catchUp publishes the logged events of a task that this process has not
// published yet.
func (f *follower) catchUp(ctx context.Context, id string) error {
	t := f.h.broker.lookup(id)
	if t == nil {
		return nil
	}
	defer f.h.broker.release(t)
	t.fill.Lock()
	ended, err := f.publishLogged(ctx, t, t.position(), 0)
	t.fill.Unlock()
	if ended > 0 {
		f.stopExecution(ctx, id, ended)
	} else if err == nil {
		f.yieldExecution(ctx, id)
	}
	return err
}

// publishLogged publishes a task's logged events after seq after (and
// before seq before, when before > 0). It returns the seq of a terminal
// event among them, or 0. Callers hold t.fill.
func (f *follower) publishLogged(ctx context.Context, t *topic, after, before int64) (ended int64, err error) {
	id := t.id
	evs, err := f.h.store.Events(ctx, id, after)
	if errors.Is(err, taskstore.ErrEventsTruncated) {
		// Too far behind to replay: the current task stands in for the
		// missed events, as it does for a fresh subscription.
		rec, gerr := f.h.store.Get(ctx, id)
		if gerr != nil {
			return 0, gerr
		}
		evs, err = []taskstore.Event{{Seq: rec.Version, Response: taskEvent(rec.Task)}}, nil
	}
	if err != nil {
		return 0, err
	}
	for _, ev := range evs {
		if before > 0 && ev.Seq >= before {
			break
		}
		final := IsTerminal(eventState(ev.Response))
		t.publish(Event{Seq: ev.Seq, Response: ev.Response}, final)
		if final {
			ended = ev.Seq
		}
	}
	return ended, nil
}

// publish is how this process publishes an event it wrote itself. On a
// shared store, another process may have written events in between that
// this process has not published yet (its notification still on the way);
// they are read from the log and published first, or they would be dropped
// as older than this one. Updates raise a task's version by one, so a
// version gap before ev is the sign to look.
func (h *Handler) publish(t *topic, ev Event, final bool) {
	if h.follow == nil || ev.Seq == 0 {
		t.publish(ev, final)
		return
	}
	t.fill.Lock()
	defer t.fill.Unlock()
	if after := t.position(); ev.Seq-1 > after {
		ctx, cancel := context.WithTimeout(context.Background(), fillTimeout)
		if _, err := h.follow.publishLogged(ctx, t, after, ev.Seq); err != nil {
			h.log.Warn("a2agrpc: reading events written by another process", "task", t.id, "err", err)
		}
		cancel()
	}
	t.publish(ev, final)
}

// fillTimeout bounds the log read of [Handler.publish].
const fillTimeout = 5 * time.Second

// stopExecution ends this process's execution of a task that another
// process made terminal at seq.
func (f *follower) stopExecution(ctx context.Context, id string, seq int64) {
	e, ok := f.h.runningExecution(id)
	if !ok || e == nil {
		return
	}
	e.mu.Lock()
	mine := e.finished || seq <= e.version
	e.mu.Unlock()
	if mine {
		return
	}
	rec, err := f.h.store.Get(ctx, id)
	if err != nil {
		return
	}
	e.mu.Lock()
	if !e.finished {
		e.task, e.version, e.finished = rec.Task, rec.Version, true
		e.settleLocked()
	}
	e.mu.Unlock()
	e.cancel(errCanceledByClient)
}

// yieldExecution ends this process's execution of a task that another
// process has taken over: a follow-up message it accepted while the task
// was interrupted (an agent here may still be running in AUTH_REQUIRED,
// waiting for credentials out of band) started an execution there, and
// two agents must not work on one task. The store tells a takeover by the
// task's runner: every write names the process that made it, and only a
// takeover writes a non-terminal state of a task that runs elsewhere (an
// execution that meets such a write on a version conflict gives up the
// same way, in updateLocked).
func (f *follower) yieldExecution(ctx context.Context, id string) {
	e, ok := f.h.runningExecution(id)
	if !ok || e == nil {
		return
	}
	e.mu.Lock()
	version, done := e.version, e.finished || !e.created
	e.mu.Unlock()
	if done {
		return
	}
	rec, err := f.h.store.Get(ctx, id)
	if err != nil || rec.Version <= version || rec.Runner == f.h.runner || IsTerminal(rec.Task.GetStatus().GetState()) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.finished && rec.Version > e.version {
		e.takenOverLocked(rec)
	}
}

// eventState is the task state an event reports, if any.
func eventState(r *a2av1.StreamResponse) a2av1.TaskState {
	switch {
	case r.GetStatusUpdate() != nil:
		return r.GetStatusUpdate().GetStatus().GetState()
	case r.GetTask() != nil:
		return r.GetTask().GetStatus().GetState()
	}
	return a2av1.TaskState_TASK_STATE_UNSPECIFIED
}
