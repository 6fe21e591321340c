package server

import (
	"context"
	"errors"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// DefaultRunnerLease is how long a process's runner lease lasts (see
// [taskstore.Reaper] and [WithRunnerLease]).
const DefaultRunnerLease = 30 * time.Second

// orphanPage bounds the orphans failed per round.
const orphanPage = 100

// orphanText is the failure status of a task whose process died mid-run.
const orphanText = "interrupted: the server running this task stopped; send the message again to retry"

// reap keeps this process's lease alive and fails orphaned tasks, until ctx
// ends.
//
// The lease is renewed three times per lifetime, so one slow round trip to
// the database does not make a live process look dead.
//
// After this process failed to renew its lease (the database was
// unreachable), it reaps nothing until it has renewed for a whole lease
// again: the other processes were most likely cut off too, and they must get
// the time to renew theirs before their tasks look orphaned.
func (h *Handler) reap(ctx context.Context, r taskstore.Reaper) {
	ttl := h.cfg.runnerLease
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	var reapAfter time.Time // zero: reap now
	suspect := false
	for {
		if err := r.KeepAlive(ctx, h.runner, ttl); err != nil {
			if ctx.Err() == nil {
				h.log.Warn("a2agrpc: renewing the runner lease", "err", err)
			}
			suspect = true
		} else if suspect {
			suspect, reapAfter = false, time.Now().Add(ttl)
		}
		if !suspect && !time.Now().Before(reapAfter) {
			h.failOrphans(ctx, r)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (h *Handler) failOrphans(ctx context.Context, r taskstore.Reaper) {
	recs, err := r.Orphans(ctx, orphanPage)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("a2agrpc: looking for orphaned tasks", "err", err)
		}
		return
	}
	for _, rec := range recs {
		if _, ok := h.runningExecution(rec.Task.GetId()); ok {
			continue // ours after all (the lease was renewed late)
		}
		if err := h.failOrphan(ctx, rec); err != nil && ctx.Err() == nil {
			h.log.Warn("a2agrpc: failing an orphaned task", "task", rec.Task.GetId(), "err", err)
		}
	}
}

// failOrphan moves an orphaned task to FAILED, so that its subscribers and
// push receivers learn that it ended. A conflict means another process got
// there first (or the task moved on): nothing to do.
func (h *Handler) failOrphan(ctx context.Context, rec taskstore.Record) error {
	t := rec.Task
	msg := AgentMessage(TextPart(orphanText))
	msg.TaskId, msg.ContextId = t.GetId(), t.GetContextId()
	next := withStatus(t, newStatus(a2av1.TaskState_TASK_STATE_FAILED, msg))
	ev := statusEvent(next)
	v, err := h.write(ctx, t.GetId(), rec.Version, next, ev)
	if errors.Is(err, taskstore.ErrConflict) || errors.Is(err, taskstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	h.log.Info("a2agrpc: failed an orphaned task", "task", t.GetId(), "runner", rec.Runner)
	if tp := h.broker.lookup(t.GetId()); tp != nil {
		h.publish(tp, Event{Seq: v, Response: ev}, true)
		h.broker.release(tp)
	}
	return nil
}
