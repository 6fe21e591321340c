package workflow_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/workflow"
)

// fakeDispatcher scripts the agent side for the cases real agents cannot
// produce on demand (a task named late, or never).
type fakeDispatcher struct {
	send func(ctx context.Context, req *a2av1.SendMessageRequest) iterSeq

	mu       sync.Mutex
	canceled []string
}

func (f *fakeDispatcher) Send(ctx context.Context, _ workflow.Target, req *a2av1.SendMessageRequest) iterSeq {
	return f.send(ctx, req)
}

func (f *fakeDispatcher) Cancel(_ context.Context, _ workflow.Target, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, id)
	return nil
}

func taskEvent(id string, state a2av1.TaskState) *a2av1.StreamResponse {
	return &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_Task{Task: &a2av1.Task{Id: id, Status: &a2av1.TaskStatus{State: state}}}}
}

func oneStep() *workflow.Definition {
	return &workflow.Definition{Name: "one", Steps: []workflow.Step{
		{ID: "s", Target: workflow.Target{Agent: "http://fake"}, Input: workflow.Input{Text: "x"}},
	}}
}

// TestRun_stopBeforeTheTaskIsNamed: a run stopped while the send is in
// flight keeps reading the stream until the agent names its task, then
// cancels that task: a task it created is never left running.
func TestRun_stopBeforeTheTaskIsNamed(t *testing.T) {
	t.Parallel()
	d := &fakeDispatcher{send: func(ctx context.Context, _ *a2av1.SendMessageRequest) iterSeq {
		return func(yield func(*a2av1.StreamResponse, error) bool) {
			select { // a slow agent: the task appears after the run was stopped
			case <-time.After(300 * time.Millisecond):
			case <-ctx.Done():
				yield(nil, ctx.Err())
				return
			}
			if !yield(taskEvent("late-task", a2av1.TaskState_TASK_STATE_WORKING), nil) {
				return
			}
			<-ctx.Done()
			yield(nil, ctx.Err())
		}
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	o := execute(t, ctx, oneStep(), nil, d)
	if !errors.Is(o.err, context.DeadlineExceeded) || o.res.Steps["s"].Status != workflow.StatusCanceled {
		t.Fatalf("%v\n%s", o.err, o)
	}
	if len(d.canceled) != 1 || d.canceled[0] != "late-task" {
		t.Errorf("canceled %v, want [late-task]", d.canceled)
	}
}

// TestRun_taskNeverNamed: when the agent names no task within the cancel
// grace, the step says a task may be left running.
func TestRun_taskNeverNamed(t *testing.T) {
	t.Parallel()
	d := &fakeDispatcher{send: func(ctx context.Context, _ *a2av1.SendMessageRequest) iterSeq {
		return func(yield func(*a2av1.StreamResponse, error) bool) {
			<-ctx.Done()
			yield(nil, ctx.Err())
		}
	}}
	def := oneStep()
	def.Steps[0].Timeout = 50 * time.Millisecond
	def.Steps[0].Retry.MaxAttempts = 3
	o := execute(t, context.Background(), def, nil, d, workflow.WithCancelGrace(100*time.Millisecond))
	if o.err == nil || !strings.Contains(o.err.Error(), "had not named its task") {
		t.Fatalf("%v\n%s", o.err, o)
	}
	if n := o.res.Steps["s"].Attempts; n != 1 {
		t.Errorf("%d attempts: an attempt whose task may run must not be retried", n)
	}
}

// TestRun_streamBrokeAfterTheTask: a stream that fails once the task
// exists is retried only after the task was canceled.
func TestRun_streamBrokeAfterTheTask(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	attempt := 0
	d := &fakeDispatcher{}
	d.send = func(ctx context.Context, _ *a2av1.SendMessageRequest) iterSeq {
		mu.Lock()
		attempt++
		n := attempt
		mu.Unlock()
		return func(yield func(*a2av1.StreamResponse, error) bool) {
			if n == 1 {
				if yield(taskEvent("t1", a2av1.TaskState_TASK_STATE_WORKING), nil) {
					yield(nil, errors.New("connection reset"))
				}
				return
			}
			d.mu.Lock()
			canceledFirst := len(d.canceled) == 1 && d.canceled[0] == "t1"
			d.mu.Unlock()
			state := a2av1.TaskState_TASK_STATE_COMPLETED
			if !canceledFirst {
				state = a2av1.TaskState_TASK_STATE_REJECTED
			}
			yield(taskEvent("t2", state), nil)
		}
	}
	def := oneStep()
	def.Steps[0].Retry = workflow.RetryPolicy{MaxAttempts: 2}
	o := execute(t, context.Background(), def, nil, d)
	if o.err != nil || o.res.Steps["s"].TaskID != "t2" {
		t.Fatalf("%v\n%s", o.err, o)
	}
}

// TestRun_events: every iteration sees every event, however late it
// starts, and one that stops early does not hold the run.
func TestRun_events(t *testing.T) {
	t.Parallel()
	d := &fakeDispatcher{send: func(ctx context.Context, _ *a2av1.SendMessageRequest) iterSeq {
		return func(yield func(*a2av1.StreamResponse, error) bool) {
			yield(taskEvent("t", a2av1.TaskState_TASK_STATE_COMPLETED), nil)
		}
	}}
	r, err := workflow.Start(context.Background(), oneStep(), nil, d)
	if err != nil {
		t.Fatal(err)
	}
	for range r.Events() {
		break // a consumer that gives up at once
	}
	if _, err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	var types []string
	for ev := range r.Events() {
		types = append(types, string(ev.Type))
	}
	if got := strings.Join(types, " "); got != "pending running running completed" {
		t.Errorf("events after the end: %s", got)
	}
}

// TestStart_errors: what Start refuses before running anything.
func TestStart_errors(t *testing.T) {
	t.Parallel()
	d := &fakeDispatcher{}
	if _, err := workflow.Start(context.Background(), oneStep(), nil, nil); err == nil {
		t.Error("no error without a dispatcher")
	}
	if _, err := workflow.Start(context.Background(), &workflow.Definition{}, nil, d); err == nil {
		t.Error("no error for an invalid definition")
	}
	if _, err := workflow.Start(context.Background(), oneStep(), func() {}, d); err == nil || !strings.Contains(err.Error(), "input") {
		t.Errorf("input that is not JSON: %v", err)
	}
}
