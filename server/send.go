package server

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	"github.com/google/uuid"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// handOverWait bounds how long a follow-up waits for the agent of an
// interrupted task to return from Execute. An agent normally returns right
// after asking for input, but the caller may answer faster than that.
const handOverWait = time.Second

// SendMessage implements the blocking and returnImmediately send. Blocking
// (the default) returns when the task is terminal or interrupted, or with
// the agent's direct reply; if ctx ends first, the call returns its error and
// the task carries on.
func (h *Handler) SendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	e, err := h.startSend(ctx, req, false)
	if err != nil {
		return nil, err
	}
	cfg := req.GetConfiguration()
	if !cfg.GetReturnImmediately() {
		select {
		case <-e.settled:
		case <-ctx.Done():
			e.materialize() // the caller gave up: the task must outlive the call
			return nil, a2agrpc.AsError(context.Cause(ctx))
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.resultErr != nil {
		return nil, e.resultErr
	}
	if e.result != nil && e.result.GetMessage() != nil {
		return e.result, nil
	}
	task := e.task
	if e.result != nil && e.result.GetTask() != nil {
		task = e.result.GetTask()
	}
	return &a2av1.SendMessageResponse{Payload: &a2av1.SendMessageResponse_Task{
		Task: view(task, historyLimit(cfg), true),
	}}, nil
}

// SendStreamingMessage implements the streaming send: the task first (or a
// single direct message), then its updates, ending when the task is
// terminal, needs input, or the agent returns. Stopping the iteration (or
// ctx ending) detaches the stream; the task carries on.
func (h *Handler) SendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		e, err := h.startSend(ctx, req, true)
		if err != nil {
			yield(Event{}, err)
			return
		}
		defer e.topic.unsubscribe(e.origin)
		defer h.metrics.streamOpened(streamSend)()
		limit := historyLimit(req.GetConfiguration())
		drain(ctx, e.origin, func(ev Event, err error) bool {
			if t := ev.Response.GetTask(); t != nil && limit != nil {
				ev.Response = taskEvent(view(t, limit, true))
			}
			return yield(ev, err)
		})
	}
}

// drain forwards a subscriber's events to yield until the stream ends.
func drain(ctx context.Context, s *subscriber, yield func(Event, error) bool) {
	var buf []Event
	for {
		ev, err := s.next(ctx, &buf)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			yield(Event{}, a2agrpc.AsError(err))
			return
		}
		if !yield(ev, nil) {
			return
		}
	}
}

func historyLimit(cfg *a2av1.SendMessageConfiguration) *int32 {
	if cfg != nil && cfg.HistoryLength != nil {
		return cfg.HistoryLength
	}
	return nil
}

// startSend validates a send, claims the task (new or continued) and starts
// its execution. For streams, the origin subscriber is in place before the
// agent runs, so no event is missed.
func (h *Handler) startSend(ctx context.Context, req *a2av1.SendMessageRequest, stream bool) (*execution, error) {
	call, err := h.begin(ctx)
	if err != nil {
		return nil, err
	}
	if stream && !h.card.GetCapabilities().GetStreaming() {
		return nil, errNoStreaming
	}
	if err := h.validateSend(req); err != nil {
		return nil, err
	}
	in := req.GetMessage()
	cfg := req.GetConfiguration()
	e := &execution{h: h, settled: make(chan struct{}), exited: make(chan struct{})}
	// The caller's message is copied so the ids can be filled in. It is its
	// own allocation on purpose: the task's history keeps it for as long as
	// the task is stored, and must not keep the execution (and through its
	// context the whole call) alive with it.
	msg := &a2av1.Message{}
	msg.MessageId, msg.ContextId, msg.TaskId, msg.Role, msg.Parts = in.MessageId, in.ContextId, in.TaskId, in.Role, in.Parts
	msg.Metadata, msg.Extensions, msg.ReferenceTaskIds = in.Metadata, in.Extensions, in.ReferenceTaskIds
	e.req = &e.reqMem
	*e.req = Request{
		Message:             msg,
		Tenant:              req.GetTenant(),
		Caller:              call.Caller,
		Extensions:          call.Activated(),
		AcceptedOutputModes: cfg.GetAcceptedOutputModes(),
		Metadata:            req.GetMetadata(),
	}
	// The agent's work is not tied to the caller's connection, but keeps the
	// caller's context values (trace ids, identity).
	e.sctx = context.WithoutCancel(ctx)
	e.ctx, e.cancel = context.WithCancelCause(e.sctx)

	if msg.TaskId != "" {
		if err := h.continueTask(ctx, call, e, cfg.GetTaskPushNotificationConfig()); err != nil {
			e.cancel(err)
			return nil, err
		}
	} else {
		msg.TaskId = uuid.NewString()
		if msg.ContextId == "" {
			msg.ContextId = uuid.NewString()
		}
		e.req.TaskID, e.req.ContextID = msg.TaskId, msg.ContextId
		if _, err := h.claim(msg.TaskId, e); err != nil {
			e.cancel(err)
			return nil, err
		}
		if pc := cfg.GetTaskPushNotificationConfig(); pc != nil {
			e.pushCfg = h.newPushConfig(pc, e.req.TaskID, req.GetTenant())
		}
		e.topic = h.broker.acquire(e.req.TaskID)
	}
	if stream {
		e.origin = e.topic.subscribe(h.cfg.streamBuffer, h.metrics.fanoutObserver())
		if e.task != nil {
			e.origin.start(e.version, Event{Seq: e.version, Response: taskEvent(e.task)})
		}
	}
	if e.task == nil && !stream && !cfg.GetReturnImmediately() && e.pushCfg == nil {
		e.deferred = true
		e.reveal = time.AfterFunc(revealAfter, e.materialize)
	}
	if e.task == nil && cfg.GetReturnImmediately() {
		// The caller wants a task handle now: create it before the agent runs.
		e.mu.Lock()
		err := e.createLocked(a2av1.TaskState_TASK_STATE_SUBMITTED, nil)
		e.mu.Unlock()
		if err != nil {
			e.abandon(err)
			return nil, err
		}
	}
	h.pool.run(e.run)
	return e, nil
}

// continueTask prepares a follow-up message for an existing task: the task
// must be visible to the caller and not terminal; if its agent is still
// returning from the previous turn, the follow-up waits briefly for it. The
// message joins the history and an interrupted task resumes (WORKING), which
// its subscribers see as a status update.
func (h *Handler) continueTask(ctx context.Context, call *CallInfo, e *execution, pushCfg *a2av1.TaskPushNotificationConfig) error {
	msg := e.req.Message
	rec, err := h.loadTask(ctx, call, e.req.Tenant, msg.TaskId)
	if err != nil {
		return err
	}
	if msg.ContextId != "" && msg.ContextId != rec.Task.GetContextId() {
		return a2agrpc.InvalidParams("message.contextId", "%q is not the context of task %s", msg.ContextId, msg.TaskId)
	}
	msg.ContextId = rec.Task.GetContextId()
	e.req.TaskID, e.req.ContextID = msg.TaskId, msg.ContextId
	if err := unsupportedIfTerminal(rec.Task, "send a message to"); err != nil {
		return err
	}
	if err := h.claimForFollowUp(ctx, e); err != nil {
		return err
	}
	if pushCfg != nil {
		if _, err := h.putPushConfig(ctx, h.newPushConfig(pushCfg, msg.TaskId, e.req.Tenant)); err != nil {
			h.unclaimExecution(e)
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if rec, err = h.store.Get(ctx, msg.TaskId); err != nil {
				h.unclaimExecution(e)
				return a2agrpc.AsError(err)
			}
		}
		if err := unsupportedIfTerminal(rec.Task, "send a message to"); err != nil {
			h.unclaimExecution(e)
			return err
		}
		if !IsInterrupted(rec.Task.GetStatus().GetState()) {
			// Not waiting for its caller, and not run here: another
			// process runs it (a shared store), or ran it and died (the
			// reaper fails it shortly).
			h.unclaimExecution(e)
			return busy(msg.TaskId)
		}
		next := withMessage(rec.Task, msg)
		var ev *a2av1.StreamResponse
		if IsInterrupted(rec.Task.GetStatus().GetState()) {
			next = withStatus(next, newStatus(a2av1.TaskState_TASK_STATE_WORKING, nil))
			ev = statusEvent(next)
		}
		v, err := h.write(ctx, msg.TaskId, rec.Version, next, ev)
		if errors.Is(err, taskstore.ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			h.unclaimExecution(e)
			return a2agrpc.AsError(err)
		}
		e.created, e.task, e.version = true, next, v
		e.req.Task = next
		e.topic = h.broker.acquire(msg.TaskId)
		if ev != nil {
			h.publish(e.topic, Event{Seq: v, Response: ev}, false)
		}
		return nil
	}
}

// claimForFollowUp claims a task for a follow-up. If the previous execution
// still holds it but has already settled (Execute returned, or the task is
// interrupted), the follow-up waits for that execution to exit rather than
// failing because the caller answered quickly.
func (h *Handler) claimForFollowUp(ctx context.Context, e *execution) error {
	id := e.req.TaskID
	for {
		ok, err := h.claim(id, e)
		if err != nil || ok {
			return err
		}
		prev, _ := h.runningExecution(id)
		if prev == nil {
			return busy(id) // a cancel is in progress
		}
		prev.mu.Lock()
		finished, state := prev.finished, prev.task.GetStatus().GetState()
		prev.mu.Unlock()
		var limit <-chan time.Time
		switch {
		case finished:
			// exiting now: wait (bounded by ctx)
		case IsInterrupted(state):
			limit = time.After(handOverWait)
		default:
			return busy(id)
		}
		select {
		case <-prev.exited:
		case <-limit:
			return busy(id)
		case <-ctx.Done():
			return a2agrpc.AsError(context.Cause(ctx))
		}
	}
}

func busy(taskID string) error {
	return a2agrpc.Errorf(a2agrpc.ReasonUnsupportedOperation,
		"task %s is still being worked on; send follow-up messages when it asks for input", taskID).WithMeta("taskId", taskID)
}

var errNoStreaming = a2agrpc.Errorf(a2agrpc.ReasonUnsupportedOperation, "this agent does not support streaming")

func (h *Handler) unclaimExecution(e *execution) {
	h.unclaim(e.req.TaskID)
	h.executions.Done()
	close(e.exited)
}

func unsupportedIfTerminal(t *a2av1.Task, what string) error {
	if state := t.GetStatus().GetState(); IsTerminal(state) {
		return a2agrpc.Errorf(a2agrpc.ReasonUnsupportedOperation,
			"cannot %s task %s: it is %s; start a new task in the same context instead", what, t.GetId(), state).
			WithMeta("taskId", t.GetId())
	}
	return nil
}
