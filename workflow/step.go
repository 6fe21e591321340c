package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// runStep runs one step to its end: its input evaluated once, then as
// many attempts as its retry policy and its failures allow.
func (r *Run) runStep(s *stepPlan, sc *scope) stepDone {
	res := StepResult{Started: time.Now()}
	end := func(st Status, ev Event, out *stepOutput) stepDone {
		res.Status, res.Err, res.Finished = st, ev.Err, time.Now()
		ev.Step, ev.Attempt, ev.TaskID = s.id, res.Attempts, res.TaskID
		r.emit(ev)
		return stepDone{step: s, result: res, out: out}
	}
	parts, err := r.message(s, sc)
	if err != nil {
		return end(StatusFailed, Event{Type: EventFailed, Err: err}, nil)
	}
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		r.emit(Event{Type: EventRunning, Step: s.id, Attempt: attempt})
		a := r.attempt(s, attempt, parts)
		res.TaskID, res.Artifacts, res.Message = a.view.taskID, a.view.artifacts, a.view.message
		switch {
		case a.err == nil:
			out := a.view.output()
			res.Text, res.Data = out.text, out.data
			return end(StatusCompleted, Event{Type: EventCompleted}, out)
		case a.stopped:
			return end(StatusCanceled, Event{Type: EventCanceled, Err: a.err}, nil)
		case !a.retryable || attempt >= s.retry.attempts():
			return end(StatusFailed, Event{Type: EventFailed, Err: a.err}, nil)
		}
		delay := s.retry.delay(attempt + 1)
		r.emit(Event{Type: EventRetrying, Step: s.id, Attempt: attempt + 1, TaskID: res.TaskID, Backoff: delay, Err: a.err})
		if !sleep(r.stepsCtx, delay) {
			return end(StatusCanceled, Event{Type: EventCanceled, Err: context.Cause(r.stepsCtx)}, nil)
		}
	}
}

// sleep waits d unless ctx ends first; it reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// message evaluates the step's input into the parts of its message.
func (r *Run) message(s *stepPlan, sc *scope) ([]*a2av1.Part, error) {
	var parts []*a2av1.Part
	if s.text != nil {
		text, err := s.text.evalString(sc)
		if err != nil {
			return nil, err
		}
		parts = append(parts, &a2av1.Part{Content: &a2av1.Part_Text{Text: text}})
	}
	if s.data != nil {
		v, err := s.data.eval(sc)
		if err != nil {
			return nil, err
		}
		val, err := structpb.NewValue(v)
		if err != nil {
			return nil, fmt.Errorf("input.data: not JSON: %w", err)
		}
		parts = append(parts, &a2av1.Part{Content: &a2av1.Part_Data{Data: val}, MediaType: "application/json"})
	}
	for _, id := range s.filesFrom {
		parts = append(parts, sc.steps[id].files...)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("input: nothing to send: the steps of files_from (%v) produced no file parts", s.filesFrom)
	}
	return parts, nil
}

// attemptResult is how one attempt ended.
type attemptResult struct {
	view      taskView
	err       error // nil: completed
	retryable bool  // another attempt may succeed, and none of this one's work still runs
	stopped   bool  // the run is stopping: the step is canceled
}

// streamItem is one value of a Dispatcher's stream.
type streamItem struct {
	ev  *a2av1.StreamResponse
	err error
}

// attempt sends the message once and follows the task until it ends, the
// attempt times out or the run stops; in the last two cases it makes sure
// the remote task stops too.
//
// The stream is read in a goroutine of its own, under a context that is
// not the step's: when the step is stopped, the stream must stay open long
// enough to learn the id of the task to cancel. It ends, and the goroutine
// with it, before attempt returns.
func (r *Run) attempt(s *stepPlan, n int, parts []*a2av1.Part) attemptResult {
	req := &a2av1.SendMessageRequest{Message: &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER, Parts: parts}}
	streamCtx, endStream := context.WithCancel(context.WithoutCancel(r.ctx))
	events := make(chan streamItem)
	go func() {
		defer close(events)
		for ev, err := range r.d.Send(streamCtx, s.target, req) {
			select {
			case events <- streamItem{ev, err}:
			case <-streamCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		endStream()
		for range events { // until the reader has gone
		}
	}()
	var timeout <-chan time.Time
	if s.timeout > 0 {
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		timeout = t.C
	}
	a := attemptResult{}
	v := &a.view
	announced := false
	for {
		select {
		case it, ok := <-events:
			switch {
			case !ok:
				return r.settle(s, a, nil, nil)
			case it.err != nil:
				return r.settle(s, a, it.err, nil)
			}
			v.apply(it.ev)
			switch {
			case v.taskID != "" && !announced:
				announced = true
				r.emit(Event{Type: EventRunning, Step: s.id, Attempt: n, TaskID: v.taskID, Update: it.ev})
			case it.ev.GetMessage() == nil:
				r.emit(Event{Type: EventProgress, Step: s.id, Attempt: n, TaskID: v.taskID, Update: it.ev})
			}
			if v.replied || v.terminal() || v.interrupted() {
				return r.settle(s, a, nil, events)
			}
		case <-r.stepsCtx.Done():
			a.stopped = true
			a.err = context.Cause(r.stepsCtx)
			if err := r.stopTask(s, v, events); err != nil {
				a.err = fmt.Errorf("%w; %w", a.err, err)
			}
			return a
		case <-timeout:
			a.err = fmt.Errorf("attempt %d timed out after %v: %w", n, s.timeout, context.DeadlineExceeded)
			if err := r.stopTask(s, v, events); err != nil {
				return attemptResult{view: a.view, err: fmt.Errorf("%w; %w", a.err, err)}
			}
			a.retryable = true
			return a
		}
	}
}

// settle classifies an attempt whose stream ended (with streamErr, or
// cleanly), or whose task reached a final or interrupted state (events is
// then the stream, still open).
func (r *Run) settle(s *stepPlan, a attemptResult, streamErr error, events <-chan streamItem) attemptResult {
	v := &a.view
	if streamErr != nil || (!v.replied && !v.terminal() && !v.interrupted()) {
		if streamErr == nil {
			streamErr = errors.New("the stream ended before the task did")
			if v.taskID != "" {
				streamErr = fmt.Errorf("the stream ended while task %s was %s", v.taskID, stateName(v.state))
			}
		}
		a.err = streamErr
		if v.taskID == "" {
			// The send failed before the agent created a task: trying
			// again repeats nothing.
			a.retryable = retryable(streamErr)
			return a
		}
		// The task may still be running: it must stop before another
		// attempt, and must not be left running if there is none.
		if err := r.stopTask(s, v, nil); err != nil {
			a.err = fmt.Errorf("%w; %w", a.err, err)
			return a
		}
		a.retryable = retryable(streamErr)
		return a
	}
	switch v.state {
	case a2av1.TaskState_TASK_STATE_COMPLETED:
		return a
	case a2av1.TaskState_TASK_STATE_FAILED:
		a.err, a.retryable = v.stateError(), true
	case a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, a2av1.TaskState_TASK_STATE_AUTH_REQUIRED:
		// Nobody will answer: the task would wait for ever.
		a.err = v.stateError()
		if err := r.stopTask(s, v, events); err != nil {
			a.err = fmt.Errorf("%w; %w", a.err, err)
		}
	default: // REJECTED, CANCELED: the agent, or someone, decided
		a.err = v.stateError()
	}
	return a
}

// retryable reports whether a failed send is worth repeating: not when the
// dispatcher said so ([Permanent]), nor when the agent refused the request
// itself (bad parameters, unsupported operation or content, missing
// credentials), which the same message would meet again.
func retryable(err error) bool {
	if IsPermanent(err) {
		return false
	}
	var e *a2agrpc.Error
	if !errors.As(err, &e) {
		return true
	}
	switch e.Reason {
	case a2agrpc.ReasonInvalidParams, a2agrpc.ReasonInvalidRequest, a2agrpc.ReasonParseError,
		a2agrpc.ReasonMethodNotFound, a2agrpc.ReasonUnsupportedOperation, a2agrpc.ReasonContentTypeNotSupported,
		a2agrpc.ReasonVersionNotSupported, a2agrpc.ReasonExtensionSupportRequired,
		a2agrpc.ReasonUnauthenticated, a2agrpc.ReasonUnauthorized, a2agrpc.ReasonTaskNotFound:
		return false
	}
	return true
}

// stopTask makes sure the attempt's remote task stops, within the cancel
// grace: if the agent has not named the task yet, it reads the stream
// (events, when still open) until it does; then it cancels the task unless
// it has ended. It returns nil once the task is known not to run: it ended,
// it was cancelled, or none was created.
func (r *Run) stopTask(s *stepPlan, v *taskView, events <-chan streamItem) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.opts.cancelGrace)
	defer cancel()
	for v.taskID == "" && !v.replied && events != nil {
		select {
		case it, ok := <-events:
			switch {
			case !ok:
				events = nil // the stream ended without a task: none was created
			case it.err == nil:
				v.apply(it.ev)
			}
		case <-ctx.Done():
			return fmt.Errorf("the agent had not named its task after %v: a task it created may still be running", r.opts.cancelGrace)
		}
	}
	if v.taskID == "" || v.replied || v.terminal() {
		return nil
	}
	err := r.d.Cancel(ctx, s.target, v.taskID)
	if err == nil || errors.Is(err, a2agrpc.ErrTaskNotCancelable) || errors.Is(err, a2agrpc.ErrTaskNotFound) {
		// Not cancelable: it has just ended. Not found: the agent no
		// longer knows it, so it does not run it.
		return nil
	}
	return fmt.Errorf("could not cancel task %s: %w", v.taskID, err)
}
