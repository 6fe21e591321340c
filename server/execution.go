package server

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Causes of an execution's context cancellation.
var (
	errCanceledByClient = errors.New("task canceled")
	errTakenOver        = errors.New("task taken over by another process")
	errShutdown         = errors.New("server shutting down")
	errAgentPanicked    = errors.New("agent panicked")
)

// execution is one run of the Executor for one accepted message. It is the
// only writer of its task while it runs: all writes go through e.mu, so the
// task's events are persisted and published in one order.
type execution struct {
	h      *Handler
	req    *Request // points at reqMem: one allocation for both
	reqMem Request
	msgMem a2av1.Message   // the caller's message, copied so ids can be filled in
	ctx    context.Context // the agent's context: cancelled on cancel/shutdown
	sctx   context.Context // for store writes: never cancelled, so outcomes are recorded
	cancel context.CancelCauseFunc
	topic  *topic
	origin *subscriber // the send stream; nil for blocking sends
	span   trace.Span  // the execution's span (tracing.go); nil until run

	mu       sync.Mutex
	created  bool        // the task is in the store
	pending  bool        // the task exists only here (deferred; see materializeLocked)
	deferred bool        // build the task privately until it settles
	reveal   *time.Timer // materializes a deferred task that runs long
	task     *a2av1.Task
	version  int64
	emitted  bool // the agent wrote something
	finished bool // no more writes: terminal, replied, or Execute returned
	returned bool // Execute returned: no more writes from the agent
	pushCfg  *a2av1.TaskPushNotificationConfig

	settleOnce sync.Once
	settled    chan struct{}
	exited     chan struct{} // closed once the task is released for the next writer
	result     *a2av1.SendMessageResponse
	resultErr  error
}

// settle releases a blocking sender with the current outcome. Callers hold
// e.mu.
func (e *execution) settleLocked() {
	e.settleOnce.Do(func() {
		if e.resultErr == nil && e.result == nil {
			e.result = &a2av1.SendMessageResponse{Payload: &a2av1.SendMessageResponse_Task{Task: e.task}}
		}
		close(e.settled)
	})
}

// createLocked creates the new task in state with an optional status
// message: it stores it and publishes it as the stream's first event, or,
// for a deferred execution, only builds it (see materializeLocked).
func (e *execution) createLocked(state a2av1.TaskState, msg *a2av1.Message) error {
	if e.pushCfg != nil && state != a2av1.TaskState_TASK_STATE_SUBMITTED {
		// Creating a task queues no notification, so a task with an
		// inline push config is created SUBMITTED (with its config, in one
		// transaction) and the state the agent wrote follows as an update,
		// which is pushed.
		if err := e.createLocked(a2av1.TaskState_TASK_STATE_SUBMITTED, nil); err != nil {
			return err
		}
		return e.writeStatusLocked(state, msg)
	}
	t := &a2av1.Task{
		Id:        e.req.TaskID,
		ContextId: e.req.ContextID,
		Status:    newStatus(state, e.stamp(msg)),
		History:   []*a2av1.Message{e.req.Message},
	}
	if msg != nil {
		t.History = append(t.History, t.Status.Message)
	}
	if e.deferred {
		e.task, e.pending = t, true
		return e.afterPendingWriteLocked()
	}
	if err := e.storeNewLocked(t); err != nil {
		return err
	}
	e.afterWriteLocked(Event{Seq: 1, Response: taskEvent(t)})
	return nil
}

func (e *execution) storeNewLocked(t *a2av1.Task) error {
	rec := taskstore.Record{Task: t, Owner: e.req.Caller, Tenant: e.req.Tenant, Updated: t.Status.Timestamp.AsTime(), Runner: e.h.runner}
	var push []*a2av1.TaskPushNotificationConfig
	if e.pushCfg != nil {
		push = append(push, e.pushCfg) // stored with the task, or neither is
	}
	if err := e.h.store.Create(e.sctx, rec, push...); err != nil {
		return a2agrpc.AsError(err) // ErrFull is RESOURCE_EXHAUSTED
	}
	e.created, e.pending, e.task, e.version = true, false, t, 1
	e.h.metrics.stateEntered(t.GetStatus().GetState())
	return nil
}

// Deferred executions serve blocking sends of new tasks. Until the send
// returns, only its caller could learn the task's id, so nobody else can
// observe the task: the agent's writes are applied to a private task, with
// no store write and no event per write, and the task is stored once —
// when it settles (terminal or interrupted), when its caller gives up, or
// after revealAfter, whichever comes first. Until then the task is absent
// from ListTasks, which is the only observable difference.
const revealAfter = 100 * time.Millisecond

// afterPendingWriteLocked stores a deferred task once it has settled.
func (e *execution) afterPendingWriteLocked() error {
	state := e.task.GetStatus().GetState()
	if !IsTerminal(state) && !IsInterrupted(state) {
		return nil
	}
	if err := e.materializeLocked(); err != nil {
		return err
	}
	if IsTerminal(state) {
		e.finished = true
	}
	e.settleLocked()
	return nil
}

// materializeLocked stores a pending task as it stands.
func (e *execution) materializeLocked() error {
	if !e.pending {
		return nil
	}
	if e.reveal != nil {
		e.reveal.Stop()
	}
	if err := e.storeNewLocked(e.task); err != nil {
		// The task exists nowhere but here: the caller must learn that it
		// was not accepted (typically UNAVAILABLE: the store is down)
		// rather than receive a task nobody can find again.
		if e.resultErr == nil {
			e.resultErr = a2agrpc.AsError(err)
		}
		e.settleLocked()
		return err
	}
	return nil
}

// materialize is materializeLocked for callers outside the lock.
func (e *execution) materialize() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.materializeLocked(); err != nil {
		e.h.log.Error("a2agrpc: storing a task", "task", e.req.TaskID, "err", err)
	}
}

// stamp fills in the ids of an agent message.
func (e *execution) stamp(m *a2av1.Message) *a2av1.Message {
	if m == nil {
		return nil
	}
	if m.TaskId == e.req.TaskID && m.ContextId == e.req.ContextID && m.Role != a2av1.Role_ROLE_UNSPECIFIED {
		return m
	}
	c := &a2av1.Message{
		MessageId: m.MessageId, ContextId: e.req.ContextID, TaskId: e.req.TaskID, Role: m.Role,
		Parts: m.Parts, Metadata: m.Metadata, Extensions: m.Extensions, ReferenceTaskIds: m.ReferenceTaskIds,
	}
	if c.Role == a2av1.Role_ROLE_UNSPECIFIED {
		c.Role = a2av1.Role_ROLE_AGENT
	}
	return c
}

// updateLocked persists one change derived from the current (stored) task
// and publishes its event (built by event from the new task). A version
// conflict means another process changed the task (e.g. a cancel on another
// replica): reload and derive again. Pending tasks are changed in place by
// the callers instead.
func (e *execution) updateLocked(derive func(*a2av1.Task) *a2av1.Task, event func(*a2av1.Task) *a2av1.StreamResponse) error {
	for attempt := 0; ; attempt++ {
		next := derive(e.task)
		ev := event(next)
		v, err := e.h.write(e.sctx, e.task.GetId(), e.version, next, ev)
		if errors.Is(err, taskstore.ErrConflict) && attempt < 3 {
			rec, gerr := e.h.store.Get(e.sctx, e.task.GetId())
			if gerr != nil {
				return a2agrpc.AsError(gerr)
			}
			if IsTerminal(rec.Task.GetStatus().GetState()) {
				e.task, e.version, e.finished = rec.Task, rec.Version, true
				return ErrTaskFinished
			}
			if rec.Runner != e.h.runner {
				// Another process took the task over (a follow-up it
				// accepted); its execution is the task's now.
				e.takenOverLocked(rec)
				return ErrTaskFinished
			}
			e.task, e.version = rec.Task, rec.Version
			continue
		}
		if err != nil {
			return a2agrpc.AsError(err)
		}
		e.task, e.version = next, v
		e.afterWriteLocked(Event{Seq: v, Response: ev})
		return nil
	}
}

// errTakenOverStream ends this process's stream of a task another process
// took over: the stream can go on there, through a subscription.
var errTakenOverStream = a2agrpc.NewError(a2agrpc.ReasonUnavailable,
	"the task was taken over by another server (a follow-up message reached it); resubscribe to follow it")

// takenOverLocked gives the task up to the process that took it over,
// whose write is rec: this execution is finished, its agent is stopped and
// its send stream, if still open, ends asking the client to resubscribe.
// Two agents must not work on one task.
func (e *execution) takenOverLocked(rec taskstore.Record) {
	e.task, e.version, e.finished = rec.Task, rec.Version, true
	if e.resultErr == nil {
		e.resultErr = errTakenOverStream
	}
	e.settleLocked()
	e.h.log.Info("a2agrpc: another process took the task over; stopping its agent here", "task", e.req.TaskID, "runner", rec.Runner)
	e.cancel(errTakenOver)
}

// afterWriteLocked publishes an event and applies the stream policy:
//   - terminal: every stream of the task ends; blocking senders return;
//   - INPUT_REQUIRED: blocking senders return and the send stream ends
//     (the caller answers with a new message, which opens a new stream);
//     SubscribeToTask streams stay open;
//   - AUTH_REQUIRED: blocking senders return; streams stay open while the
//     agent keeps running, since credentials may arrive out of band.
func (e *execution) afterWriteLocked(ev Event) {
	state := e.task.GetStatus().GetState()
	final := IsTerminal(state)
	e.h.publish(e.topic, ev, final)
	if final {
		e.finished = true
	}
	if final || IsInterrupted(state) {
		e.settleLocked()
	}
	if state == a2av1.TaskState_TASK_STATE_INPUT_REQUIRED && e.origin != nil {
		e.origin.finish(nil)
	}
}

func (e *execution) status(state a2av1.TaskState, msg *a2av1.Message) error {
	if state == a2av1.TaskState_TASK_STATE_UNSPECIFIED || a2av1.TaskState_name[int32(state)] == "" {
		return a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "agent wrote invalid task state %d", state)
	}
	if msg != nil {
		if err := checkParts(msg.GetParts()); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.beginWriteLocked(); err != nil {
		return err
	}
	return e.writeStatusLocked(state, e.stamp(msg))
}

// beginWriteLocked admits one agent write: refused once the task is
// finished; otherwise the agent has now emitted something.
func (e *execution) beginWriteLocked() error {
	if e.finished || e.returned {
		return ErrTaskFinished
	}
	e.emitted = true
	return nil
}

// writeStatusLocked moves the task to state, creating it first if the agent
// had not written anything yet.
func (e *execution) writeStatusLocked(state a2av1.TaskState, msg *a2av1.Message) error {
	e.traceStatus(state)
	if e.task == nil {
		return e.createLocked(state, msg)
	}
	if e.pending { // private: change it in place
		e.task.Status = newStatus(state, msg)
		if msg != nil {
			e.task.History = append(e.task.History, msg)
		}
		return e.afterPendingWriteLocked()
	}
	return e.updateLocked(func(t *a2av1.Task) *a2av1.Task {
		return withStatus(t, newStatus(state, msg))
	}, statusEvent)
}

func (e *execution) artifact(a *a2av1.Artifact, appendParts, lastChunk bool) error {
	if err := checkArtifact(a); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.beginWriteLocked(); err != nil {
		return err
	}
	if e.task == nil {
		if err := e.createLocked(a2av1.TaskState_TASK_STATE_WORKING, nil); err != nil {
			return err
		}
	}
	if e.pending { // private: change it in place
		addArtifactInPlace(e.task, a, appendParts)
		return e.afterPendingWriteLocked()
	}
	return e.updateLocked(func(t *a2av1.Task) *a2av1.Task {
		return withArtifact(t, a, appendParts)
	}, func(next *a2av1.Task) *a2av1.StreamResponse {
		return artifactEvent(next, a, appendParts, lastChunk)
	})
}

func (e *execution) reply(parts []*a2av1.Part) error {
	if len(parts) == 0 {
		return a2agrpc.NewError(a2agrpc.ReasonInvalidAgentResponse, "agent replied with no parts")
	}
	if err := checkParts(parts); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished {
		return ErrTaskFinished
	}
	msg := AgentMessage(parts...)
	msg.ContextId = e.req.ContextID
	if e.task != nil || e.emitted {
		e.emitted = true
		msg.TaskId = e.req.TaskID
		return e.writeStatusLocked(a2av1.TaskState_TASK_STATE_COMPLETED, msg)
	}
	e.emitted, e.finished = true, true
	e.result = &a2av1.SendMessageResponse{Payload: &a2av1.SendMessageResponse_Message{Message: msg}}
	e.topic.publish(Event{Response: messageEvent(msg)}, true)
	e.settleLocked()
	return nil
}

// run calls the executor and settles the task with what it returned.
func (e *execution) run() {
	defer e.h.executions.Done()
	e.startSpan()
	err := e.callExecutor()
	e.finish(err)
}

func (e *execution) callExecutor() (err error) {
	defer func() {
		if p := recover(); p != nil {
			e.h.log.Error("a2agrpc: agent panicked", "task", e.req.TaskID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", errAgentPanicked, p)
		}
	}()
	ctx := e.agentContext()
	if d := e.h.cfg.executionTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, errors.New("execution timeout"))
		defer cancel()
	}
	return e.h.exec.Execute(ctx, e.req, &TaskWriter{e: e})
}

// finish closes the execution: the task ends in a state that reflects how
// Execute returned, streams that follow this execution end, and the task is
// released for follow-up messages.
func (e *execution) finish(execErr error) {
	e.mu.Lock()
	e.returned = true // the agent's stray goroutines write no more
	if e.reveal != nil {
		e.reveal.Stop()
	}
	if !e.finished {
		e.recordOutcomeLocked(execErr)
		e.finished = true
	}
	e.settleLocked()
	e.endSpan(execErr)
	e.mu.Unlock()
	if e.origin != nil {
		e.origin.finish(e.resultErr)
	}
	e.h.release(e)
	close(e.exited)
	e.cancel(context.Canceled)
}

// Backoff of recordOutcomeLocked while the store is unreachable.
const (
	outcomeRetryFirst = 100 * time.Millisecond
	outcomeRetryMax   = 5 * time.Second
)

// recordOutcomeLocked writes how the agent ended. While the store is
// unreachable it keeps trying, for a task already stored, with backoff, instead of leaving the task
// WORKING with nothing left to finish it (this process's runner lease keeps
// other replicas' recovery off it). Callers waiting for the outcome wait
// for the store. It stops trying when the handler shuts down: the lease is
// then released, and orphan recovery fails the task once the store is back.
// A write that failed after it committed comes back as a version conflict,
// which updateLocked resolves by reading the stored outcome.
func (e *execution) recordOutcomeLocked(execErr error) {
	delay := outcomeRetryFirst
	interrupted := e.ctx.Done() // nil once the agent's context has ended for another reason
	for attempt := 1; ; attempt++ {
		err := e.settleOutcomeLocked(execErr, attempt == 1)
		if errors.Is(err, ErrTaskFinished) {
			return // recorded after all (the last try committed), or another process took over
		}
		if err == nil {
			if attempt > 1 {
				e.h.log.Info("a2agrpc: task outcome recorded once the store was back", "task", e.req.TaskID, "attempts", attempt)
			}
			return
		}
		// A task never stored (a deferred one) was not accepted yet: its
		// caller gets the failure instead.
		if !e.created || !errors.Is(err, taskstore.ErrUnavailable) || errors.Is(context.Cause(e.ctx), errShutdown) {
			e.h.log.Error("a2agrpc: recording the task outcome", "task", e.req.TaskID, "err", err)
			if e.resultErr == nil && e.task == nil {
				e.resultErr = a2agrpc.AsError(err)
			}
			return
		}
		if attempt == 1 {
			e.h.log.Warn("a2agrpc: task store unavailable; retrying the task outcome until it is back",
				"task", e.req.TaskID, "err", err)
		}
		e.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-interrupted:
			if !errors.Is(context.Cause(e.ctx), errShutdown) {
				interrupted = nil // a cancel, not a shutdown: keep waiting for the store
			}
		}
		e.mu.Lock()
		if e.finished {
			return // a cancel recorded a final state meanwhile
		}
		if errors.Is(context.Cause(e.ctx), errShutdown) {
			e.h.log.Error("a2agrpc: shutting down before the task outcome could be recorded; recovery will finish the task",
				"task", e.req.TaskID)
			return
		}
		delay = min(2*delay, outcomeRetryMax)
	}
}

// abandon undoes a claimed execution that will never run.
func (e *execution) abandon(err error) {
	if e.origin != nil {
		e.topic.unsubscribe(e.origin)
	}
	e.h.release(e)
	e.h.executions.Done()
	close(e.exited)
	e.cancel(err)
}

// settleOutcomeLocked writes the task's final state for how Execute
// returned; first is false on retries, which log nothing again.
func (e *execution) settleOutcomeLocked(execErr error, first bool) error {
	if execErr == nil {
		if e.task != nil && IsInterrupted(e.task.GetStatus().GetState()) {
			return nil
		}
		return e.writeStatusLocked(a2av1.TaskState_TASK_STATE_COMPLETED, nil)
	}
	var a2aErr *a2agrpc.Error
	if errors.As(execErr, &a2aErr) && e.task == nil && !e.emitted {
		// The agent refused the request before doing anything: the caller
		// gets the error and no task is created.
		e.resultErr = a2aErr
		return nil
	}
	text := "the agent failed"
	switch {
	case errors.Is(execErr, errAgentPanicked):
		text = "the agent failed unexpectedly"
	case errors.Is(context.Cause(e.ctx), errShutdown):
		text = "interrupted: the server shut down"
	case a2aErr != nil:
		text = a2aErr.Message
	default:
		if first {
			e.h.log.Error("a2agrpc: agent failed", "task", e.req.TaskID, "err", execErr)
		}
	}
	return e.writeStatusLocked(a2av1.TaskState_TASK_STATE_FAILED, e.stamp(AgentMessage(TextPart(text))))
}

// cancelTask handles CancelTask for a task this execution is running: the
// agent's cancel hook may refuse; otherwise the task becomes CANCELED at once
// and the agent's context is cancelled.
func (e *execution) cancelTask(ctx context.Context) (*a2av1.Task, error) {
	if c, ok := e.h.exec.(Canceler); ok {
		e.mu.Lock()
		snapshot := e.task
		e.mu.Unlock()
		if err := c.Cancel(ctx, snapshot); err != nil {
			return nil, a2agrpc.AsError(err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished || !e.created {
		return nil, a2agrpc.ErrTaskNotCancelable.WithMeta("taskId", e.req.TaskID)
	}
	if err := e.writeStatusLocked(a2av1.TaskState_TASK_STATE_CANCELED, nil); err != nil {
		if errors.Is(err, ErrTaskFinished) {
			return nil, a2agrpc.ErrTaskNotCancelable.WithMeta("taskId", e.req.TaskID)
		}
		return nil, err
	}
	e.cancel(errCanceledByClient)
	return e.task, nil
}
