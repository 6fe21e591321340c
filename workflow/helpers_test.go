package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/workflow"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds each test's run: generous for a loaded machine, far
// below go test's own timeout.
const testTimeout = 30 * time.Second

// agent serves exec on loopback for the test's duration and returns its
// base URL.
func agent(t *testing.T, exec server.ExecutorFunc) *host.Agent {
	t.Helper()
	a, err := host.Start(exec, host.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("agent shutdown: %v", err)
		}
	})
	return a
}

// direct is a Direct dispatcher closed at the end of the test.
func direct(t *testing.T) *workflow.DirectDispatcher {
	t.Helper()
	d := workflow.Direct()
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("dispatcher close: %v", err)
		}
	})
	return d
}

// outcome is a finished run: every event, the result and the error.
type outcome struct {
	events []workflow.Event
	res    *workflow.Result
	err    error
}

// execute runs def to its end, collecting its events as a consumer would.
func execute(t *testing.T, ctx context.Context, def *workflow.Definition, input any, d workflow.Dispatcher, opts ...workflow.Option) outcome {
	t.Helper()
	r, err := workflow.Start(ctx, def, input, d, opts...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	var o outcome
	for ev := range r.Events() {
		o.events = append(o.events, ev)
	}
	o.res, o.err = r.Wait()
	return o
}

// find returns the first event of step with type typ, and its position.
func (o outcome) find(step string, typ workflow.EventType) (workflow.Event, int) {
	for i, e := range o.events {
		if e.Step == step && e.Type == typ {
			return e, i
		}
	}
	return workflow.Event{}, -1
}

func (o outcome) String() string {
	s := fmt.Sprintf("err: %v\n", o.err)
	for _, e := range o.events {
		s += fmt.Sprintf("  %-10s %-9s attempt=%d task=%s err=%v\n", e.Step, e.Type, e.Attempt, e.TaskID, e.Err)
	}
	return s
}

// barrier lets n executors proceed only once all n have arrived: two
// steps pass it only if they run at the same time.
type barrier struct {
	mu      sync.Mutex
	n       int
	arrived chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, arrived: make(chan struct{})} }

func (b *barrier) wait(ctx context.Context) error {
	b.mu.Lock()
	if b.n--; b.n == 0 {
		close(b.arrived)
	}
	b.mu.Unlock()
	select {
	case <-b.arrived:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(10 * time.Second):
		return errors.New("barrier: the other steps never arrived: they do not run in parallel")
	}
}

// dataOf is the first data part of the request, as JSON values.
func dataOf(req *server.Request) any {
	for _, p := range req.Message.GetParts() {
		if d := p.GetData(); d != nil {
			return d.AsInterface()
		}
	}
	return nil
}

// holder is an executor that keeps its task working until it is
// cancelled, and records that it was.
type holder struct {
	started  chan string   // task ids, as they start
	canceled chan struct{} // closed when the executor saw its context end
	once     sync.Once
}

func newHolder() *holder {
	return &holder{started: make(chan string, 10), canceled: make(chan struct{})}
}

func (h *holder) exec(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	if err := w.Working("holding"); err != nil {
		return err
	}
	h.started <- req.TaskID
	<-ctx.Done()
	h.once.Do(func() { close(h.canceled) })
	return context.Cause(ctx)
}

// sawCancel fails the test unless the executor saw its context end.
func (h *holder) sawCancel(t *testing.T) {
	t.Helper()
	select {
	case <-h.canceled:
	case <-time.After(10 * time.Second):
		t.Error("the agent's executor never saw its context cancelled")
	}
}

// taskState asks the agent for a task's state.
func taskState(t *testing.T, a *host.Agent, id string) a2av1.TaskState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(ctx, a.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	task, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: id})
	if err != nil {
		t.Fatalf("GetTask %s: %v", id, err)
	}
	return task.GetStatus().GetState()
}

// textArtifact completes a task with one text artifact.
func textArtifact(w *server.TaskWriter, text string) error {
	return w.Artifact(server.TextArtifact("out", text))
}

// iterSeq is the stream type of Dispatcher.Send.
type iterSeq = iter.Seq2[*a2av1.StreamResponse, error]
