package server

import (
	"context"
	"errors"
	"iter"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// ListTasks paging bounds (A2A v1.0).
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// GetTask returns a task the caller may see, with at most historyLength
// history messages.
func (h *Handler) GetTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error) {
	call, err := h.begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := requireID("id", req.GetId()); err != nil {
		return nil, err
	}
	if err := checkHistoryLength("historyLength", req.HistoryLength); err != nil {
		return nil, err
	}
	rec, err := h.loadTask(ctx, call, req.GetTenant(), req.GetId())
	if err != nil {
		return nil, err
	}
	return view(rec.Task, req.HistoryLength, true), nil
}

// ListTasks returns the caller's tasks, most recently updated first.
func (h *Handler) ListTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error) {
	call, err := h.begin(ctx)
	if err != nil {
		return nil, err
	}
	size := int32(DefaultPageSize)
	if req.PageSize != nil {
		if size = req.GetPageSize(); size < 1 || size > MaxPageSize {
			return nil, a2agrpc.InvalidParams("pageSize", "must be between 1 and %d, got %d", MaxPageSize, size)
		}
	}
	if err := checkHistoryLength("historyLength", req.HistoryLength); err != nil {
		return nil, err
	}
	if _, ok := a2av1.TaskState_name[int32(req.GetStatus())]; !ok {
		return nil, a2agrpc.InvalidParams("status", "unknown task state %d", req.GetStatus())
	}
	q := taskstore.Query{
		Tenant: req.GetTenant(), Owner: call.Caller,
		ContextID: req.GetContextId(), State: req.GetStatus(),
		PageSize: int(size), PageToken: req.GetPageToken(),
	}
	if ts := req.GetStatusTimestampAfter(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, a2agrpc.InvalidParams("statusTimestampAfter", "%v", err)
		}
		q.UpdatedAfter = ts.AsTime()
	}
	page, err := h.store.List(ctx, q)
	if errors.Is(err, taskstore.ErrInvalidPageToken) {
		return nil, a2agrpc.InvalidParams("pageToken", "is not a token returned by ListTasks")
	}
	if err != nil {
		return nil, a2agrpc.AsError(err)
	}
	resp := &a2av1.ListTasksResponse{
		Tasks:         make([]*a2av1.Task, len(page.Records)),
		NextPageToken: page.NextPageToken,
		PageSize:      size,
		TotalSize:     int32(page.TotalSize),
	}
	for i, r := range page.Records {
		resp.Tasks[i] = view(r.Task, req.HistoryLength, req.GetIncludeArtifacts())
	}
	return resp, nil
}

// CancelTask cancels a task that is not terminal and returns it as it stands
// afterwards. A running agent is asked through its cancel hook and context.
func (h *Handler) CancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error) {
	call, err := h.begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := requireID("id", req.GetId()); err != nil {
		return nil, err
	}
	rec, err := h.loadTask(ctx, call, req.GetTenant(), req.GetId())
	if err != nil {
		return nil, err
	}
	if IsTerminal(rec.Task.GetStatus().GetState()) {
		return nil, notCancelable(rec.Task)
	}
	for range 3 {
		if e, ok := h.runningExecution(req.GetId()); ok && e != nil {
			e.mu.Lock()
			finished := e.finished && !IsTerminal(e.task.GetStatus().GetState())
			e.mu.Unlock()
			if finished {
				// The agent returned (the task is interrupted) and is being
				// released: cancel it as an idle task once it is.
				select {
				case <-e.exited:
					continue
				case <-ctx.Done():
					return nil, a2agrpc.AsError(context.Cause(ctx))
				}
			}
			return e.cancelTask(ctx)
		}
		ok, err := h.claim(req.GetId(), nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // an execution started meanwhile: cancel through it
		}
		t, err := h.cancelIdle(ctx, req.GetId())
		h.unclaim(req.GetId())
		return t, err
	}
	return nil, a2agrpc.NewError(a2agrpc.ReasonUnavailable, "task is busy; retry the cancel")
}

// cancelIdle cancels a task no execution runs (waiting for input, or left
// behind by a restart) directly in the store, and tells its subscribers.
func (h *Handler) cancelIdle(ctx context.Context, id string) (*a2av1.Task, error) {
	t := h.broker.acquire(id)
	defer h.broker.release(t)
	for attempt := 0; ; attempt++ {
		rec, err := h.store.Get(ctx, id)
		if err != nil {
			return nil, a2agrpc.AsError(err)
		}
		if IsTerminal(rec.Task.GetStatus().GetState()) {
			return nil, notCancelable(rec.Task)
		}
		if attempt == 0 {
			if err := h.vetoRemoteCancel(ctx, rec); err != nil {
				return nil, err
			}
		}
		next := withStatus(rec.Task, newStatus(a2av1.TaskState_TASK_STATE_CANCELED, nil))
		ev := statusEvent(next)
		v, err := h.write(ctx, id, rec.Version, next, ev)
		if errors.Is(err, taskstore.ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, a2agrpc.AsError(err)
		}
		h.publish(t, Event{Seq: v, Response: ev}, true)
		return next, nil
	}
}

// vetoRemoteCancel asks the agent's cancel hook ([Canceler]) about a task
// still SUBMITTED or WORKING that no execution of this process runs: on a
// shared store, one that another replica is running. Every replica runs the
// same agent, so the hook answers here as it would there, and a cancel
// sent to any replica is refused alike. Idle tasks (waiting for input)
// have no running work to protect and are not asked about.
func (h *Handler) vetoRemoteCancel(ctx context.Context, rec taskstore.Record) error {
	c, ok := h.exec.(Canceler)
	if !ok || !isActive(rec.Task.GetStatus().GetState()) {
		return nil
	}
	if err := c.Cancel(ctx, rec.Task); err != nil {
		return a2agrpc.AsError(err)
	}
	return nil
}

// isActive reports whether a task in state s is being worked on.
func isActive(s a2av1.TaskState) bool {
	return s == a2av1.TaskState_TASK_STATE_SUBMITTED || s == a2av1.TaskState_TASK_STATE_WORKING
}

func notCancelable(t *a2av1.Task) error {
	return a2agrpc.Errorf(a2agrpc.ReasonTaskNotCancelable, "task %s is already %s", t.GetId(), t.GetStatus().GetState()).
		WithMeta("taskId", t.GetId())
}

// SubscribeToTask follows a task that is not terminal: the current task
// first, then every update, ending when the task is terminal. Interrupted
// tasks keep their subscribers: the stream continues when work resumes.
func (h *Handler) SubscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest) iter.Seq2[Event, error] {
	return h.ResubscribeToTask(ctx, req, -1)
}

// ResubscribeToTask resumes a stream after the event with sequence number
// after, as a client reconnecting with SSE's Last-Event-ID does: the events
// it missed come from the task's event log, then live ones follow. When the
// log no longer reaches back that far, the stream starts with the current
// Task instead, as a fresh subscription does (after < 0 asks for exactly
// that). A task that became terminal meanwhile yields its final state once
// rather than an error, so a resuming client learns how it ended.
func (h *Handler) ResubscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest, after int64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		s, t, err := h.subscribe(ctx, req, after)
		if err != nil {
			yield(Event{}, err)
			return
		}
		defer h.broker.release(t)
		defer t.unsubscribe(s)
		defer h.metrics.streamOpened(streamSubscribe)()
		drain(ctx, s, yield)
	}
}

func (h *Handler) subscribe(ctx context.Context, req *a2av1.SubscribeToTaskRequest, after int64) (*subscriber, *topic, error) {
	call, err := h.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !h.card.GetCapabilities().GetStreaming() {
		return nil, nil, errNoStreaming
	}
	if err := requireID("id", req.GetId()); err != nil {
		return nil, nil, err
	}
	rec, err := h.loadTask(ctx, call, req.GetTenant(), req.GetId())
	if err != nil {
		return nil, nil, err
	}
	resuming := after >= 0
	if IsTerminal(rec.Task.GetStatus().GetState()) && !resuming {
		return nil, nil, unsupportedIfTerminal(rec.Task, "subscribe to")
	}
	// Register first, then read: an event published in between is either
	// in the state read (and dropped from the queue by start) or after it.
	t := h.broker.acquire(req.GetId())
	s := t.subscribe(h.cfg.streamBuffer, h.metrics.fanoutObserver())
	fail := func(err error) (*subscriber, *topic, error) {
		t.unsubscribe(s)
		h.broker.release(t)
		return nil, nil, a2agrpc.AsError(err)
	}
	if rec, err = h.store.Get(ctx, req.GetId()); err != nil {
		return fail(storeError(err, req.GetId()))
	}
	snapshot := Event{Seq: rec.Version, Response: taskEvent(rec.Task)}
	terminal := IsTerminal(rec.Task.GetStatus().GetState())
	switch {
	case terminal && !resuming:
		return fail(unsupportedIfTerminal(rec.Task, "subscribe to"))
	case !resuming:
		s.start(rec.Version, snapshot)
	case after < rec.Version:
		// Replay what the client missed from the log; when the log no
		// longer reaches back that far, the current task stands in.
		missed, err := h.store.Events(ctx, req.GetId(), after)
		switch {
		case errors.Is(err, taskstore.ErrEventsTruncated):
			s.start(rec.Version, snapshot)
		case err != nil:
			return fail(storeError(err, req.GetId()))
		default:
			first := make([]Event, 0, len(missed))
			for _, ev := range missed {
				if ev.Seq <= rec.Version {
					first = append(first, Event{Seq: ev.Seq, Response: ev.Response})
				}
			}
			s.start(rec.Version, first...)
		}
	default:
		s.start(rec.Version)
	}
	if terminal {
		s.finish(nil) // a resuming client learns how the task ended, then the stream ends
	}
	return s, t, nil
}
