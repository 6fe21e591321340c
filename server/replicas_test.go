package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/taskstore/pgstore"
)

// replicas returns two handlers (two server instances, each with its own
// connection pool and listener) sharing one fresh PostgreSQL schema.
func replicas(t *testing.T, exec server.Executor) (a, b *server.Handler) {
	return replicasWrapped(t, exec, nil)
}

// replicasWrapped is replicas with B's store wrapped by wrapB (when not nil).
func replicasWrapped(t *testing.T, exec server.Executor, wrapB func(*pgstore.Store) taskstore.Store) (a, b *server.Handler) {
	t.Helper()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t, "a2agrpc_replicas")
	open := func(wrap func(*pgstore.Store) taskstore.Store) *server.Handler {
		st, err := pgstore.Open(context.Background(), dsn, pgstore.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close) // registered first, so it runs after the handler's Close
		var store taskstore.Store = st
		if wrap != nil {
			store = wrap(st)
		}
		return newHandler(t, exec, server.WithTaskStore(store))
	}
	return open(nil), open(wrapB)
}

// lateListener is a shared store whose Watch starts listening only once
// gate is closed: a replica that serves before its LISTEN is in place.
type lateListener struct {
	*pgstore.Store
	gate chan struct{}
}

func (l lateListener) Watch(ctx context.Context, fn func(taskstore.Notification)) error {
	select {
	case <-l.gate:
	case <-ctx.Done():
		return nil
	}
	return l.Store.Watch(ctx, fn)
}

// iterPull reads a stream one event at a time; the error is io.EOF-like
// (errStreamEnd) once the stream ends cleanly.
func iterPull(seq func(func(server.Event, error) bool)) (func() (*a2av1.StreamResponse, error), func()) {
	next, stop := iterPull2(seq)
	return func() (*a2av1.StreamResponse, error) {
		ev, err, ok := next()
		if !ok {
			return nil, errStreamEnd
		}
		return ev.Response, err
	}, stop
}

var errStreamEnd = errors.New("stream ended")

// stepper is an agent driven by the test: it works, then emits one
// artifact chunk per value received on steps, and completes when steps is
// closed. started reports each execution's context, so a test can see it
// cancelled.
type stepper struct {
	steps   chan string
	started chan context.Context
}

func (s *stepper) Execute(ctx context.Context, _ *server.Request, w *server.TaskWriter) error {
	if err := w.Working("stepping"); err != nil {
		return err
	}
	s.started <- ctx
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case text, ok := <-s.steps:
			if !ok {
				return nil
			}
			if err := w.ArtifactChunk(server.TextArtifact("steps", text), i > 0, false); err != nil {
				return err
			}
		}
	}
}

// startStepping starts a streaming send of the stepper agent on h and
// returns the stream (past its first event), the task's id and the agent's
// context once it runs.
func startStepping(t *testing.T, ctx context.Context, h *server.Handler, agent *stepper) (next func() (*a2av1.StreamResponse, error), id string, agentCtx context.Context) {
	t.Helper()
	next, stop := iterPull(h.SendStreamingMessage(ctx, sendReq("go")))
	t.Cleanup(stop)
	first, err := next()
	if err != nil {
		t.Fatal(err)
	}
	return next, first.GetTask().GetId(), <-agent.started
}

// TestReplicasStreamAcross runs a task on replica A and streams it from
// replica B: B's subscriber gets every event, in order, and the end.
func TestReplicasStreamAcross(t *testing.T) {
	agent := &stepper{steps: make(chan string), started: make(chan context.Context, 1)}
	a, b := replicas(t, agent)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	origin := a.SendStreamingMessage(ctx, sendReq("go"))
	next, stop := iterPull(origin)
	defer stop()
	first, err := next()
	if err != nil {
		t.Fatal(err)
	}
	taskID := first.GetTask().GetId()
	<-agent.started

	got := make(chan []*a2av1.StreamResponse, 1)
	subscribed := make(chan struct{})
	go func() {
		var evs []*a2av1.StreamResponse
		for ev, err := range b.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: taskID}) {
			if err != nil {
				t.Errorf("subscription on B: %v", err)
				break
			}
			evs = append(evs, ev.Response)
			if len(evs) == 1 {
				close(subscribed)
			}
		}
		got <- evs
	}()
	select {
	case <-subscribed:
	case evs := <-got:
		t.Fatalf("B's subscription ended before its first event: %v", kinds(evs))
	case <-ctx.Done():
		t.Fatal("B's subscription never started")
	}
	for _, s := range []string{"one", "two", "three"} {
		agent.steps <- s
	}
	close(agent.steps)

	var evs []*a2av1.StreamResponse
	select {
	case evs = <-got:
	case <-ctx.Done():
		t.Fatal("B's subscription did not end")
	}
	if k := kinds(evs); k != "task:working artifact artifact artifact status:completed" {
		t.Fatalf("B streamed %s", k)
	}
	var text strings.Builder
	for _, ev := range evs[1:4] {
		text.WriteString(ev.GetArtifactUpdate().GetArtifact().GetParts()[0].GetText())
	}
	if text.String() != "onetwothree" {
		t.Errorf("B's artifact chunks = %q, want them in order", text.String())
	}
}

// TestReplicasListenLate: a subscription that B serves before its
// listening connection is in place still gets every event the task logged
// meanwhile, and its end, once B starts listening.
func TestReplicasListenLate(t *testing.T) {
	agent := &stepper{steps: make(chan string), started: make(chan context.Context, 1)}
	gate := make(chan struct{})
	a, b := replicasWrapped(t, agent, func(s *pgstore.Store) taskstore.Store { return lateListener{s, gate} })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	next, stop := iterPull(a.SendStreamingMessage(ctx, sendReq("go")))
	defer stop()
	first, err := next()
	if err != nil {
		t.Fatal(err)
	}
	<-agent.started
	sub, stopSub := iterPull(b.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: first.GetTask().GetId()}))
	defer stopSub()
	evs := []*a2av1.StreamResponse{}
	ev, err := sub()
	if err != nil {
		t.Fatal(err)
	}
	evs = append(evs, ev)
	agent.steps <- "one"
	agent.steps <- "two"
	close(agent.steps)
	for { // A's own stream ends: the task is complete before B listens
		if _, err := next(); err != nil {
			break
		}
	}
	close(gate)
	for {
		ev, err := sub()
		if errors.Is(err, errStreamEnd) {
			break
		}
		if err != nil {
			t.Fatalf("subscription on B: %v", err)
		}
		evs = append(evs, ev)
	}
	if k := kinds(evs); k != "task:working artifact artifact status:completed" {
		t.Fatalf("B streamed %s", k)
	}
}

// TestReplicasCancelAcross sends CancelTask to replica B for a task that
// runs on replica A: the task is CANCELED, A's agent is stopped, and A's
// stream of the send ends with the cancellation.
func TestReplicasCancelAcross(t *testing.T) {
	agent := &stepper{steps: make(chan string), started: make(chan context.Context, 1)}
	a, b := replicas(t, agent)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	next, id, agentCtx := startStepping(t, ctx, a, agent)

	task, err := b.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	if state(task) != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Fatalf("CancelTask on B = %v", task)
	}
	select {
	case <-agentCtx.Done():
	case <-ctx.Done():
		t.Fatal("the agent on A was not stopped")
	}
	var last *a2av1.StreamResponse
	for {
		ev, err := next()
		if err != nil {
			break
		}
		last = ev
	}
	if last.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Errorf("A's stream ended with %v, want the cancellation", last)
	}
	if got, err := a.GetTask(ctx, &a2av1.GetTaskRequest{Id: id}); err != nil || state(got) != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Errorf("GetTask on A = %v, %v", got, err)
	}
}

// stubbornStepper is a stepper whose cancel hook refuses while refuse is
// set.
type stubbornStepper struct {
	*stepper
	refuse atomic.Bool
}

func (s *stubbornStepper) Cancel(context.Context, *a2av1.Task) error {
	if s.refuse.Load() {
		return a2agrpc.ErrTaskNotCancelable
	}
	return nil
}

// TestReplicasCancelVetoAcross: the agent's cancel hook refuses a cancel
// sent to replica B for a task running on replica A as it would on A; once
// it agrees, the cancel goes through.
func TestReplicasCancelVetoAcross(t *testing.T) {
	agent := &stubbornStepper{stepper: &stepper{steps: make(chan string), started: make(chan context.Context, 1)}}
	agent.refuse.Store(true)
	a, b := replicas(t, agent)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, id, agentCtx := startStepping(t, ctx, a, agent.stepper)

	for name, h := range map[string]*server.Handler{"A": a, "B": b} {
		_, err := h.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: id})
		wantReason(t, err, a2agrpc.ReasonTaskNotCancelable)
		if got, err := h.GetTask(ctx, &a2av1.GetTaskRequest{Id: id}); err != nil || state(got) != a2av1.TaskState_TASK_STATE_WORKING {
			t.Errorf("after the refused cancel on %s, task = %v, %v; want WORKING", name, got, err)
		}
	}
	if agentCtx.Err() != nil {
		t.Fatal("a refused cancel stopped the agent")
	}
	agent.refuse.Store(false)
	if task, err := b.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: id}); err != nil || state(task) != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Fatalf("agreed cancel on B = %v, %v", task, err)
	}
	select {
	case <-agentCtx.Done():
	case <-ctx.Done():
		t.Fatal("the agent on A was not stopped")
	}
}

// takeoverAgent is the agent of the takeover tests. Its first execution
// (on replica A) asks for auth, reports its context on first, then runs
// onA. The second (on replica B) closes bStarted and completes once the
// first's context has ended, or fails after 10 s: A's agent must stop
// while B's works.
type takeoverAgent struct {
	onA      func(ctx context.Context, w *server.TaskWriter) error
	first    chan context.Context
	bStarted chan struct{}
	runs     atomic.Int32
	agentA   atomic.Pointer[context.Context]
}

func newTakeoverAgent(onA func(ctx context.Context, w *server.TaskWriter) error) *takeoverAgent {
	return &takeoverAgent{onA: onA, first: make(chan context.Context, 1), bStarted: make(chan struct{})}
}

func (g *takeoverAgent) Execute(ctx context.Context, _ *server.Request, w *server.TaskWriter) error {
	if g.runs.Add(1) == 1 {
		if err := w.RequireAuth("sign in, please"); err != nil {
			return err
		}
		g.agentA.Store(&ctx)
		g.first <- ctx
		return g.onA(ctx, w)
	}
	close(g.bStarted)
	select {
	case <-(*g.agentA.Load()).Done():
		return w.Complete("signed in")
	case <-time.After(10 * time.Second):
		return w.Fail("the agent on A still runs")
	}
}

// startTakeover runs the first execution on A and sends the follow-up to
// B, which must complete the task; it returns the task's id and A's
// agent's context.
func startTakeover(t *testing.T, g *takeoverAgent) (a, b *server.Handler, id string, agentA context.Context) {
	t.Helper()
	a, b = replicas(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	task := mustSend(t, a, ctx, sendReq("hello"))
	if state(task) != a2av1.TaskState_TASK_STATE_AUTH_REQUIRED {
		t.Fatalf("first send = %v, want AUTH_REQUIRED", task.GetStatus())
	}
	agentA = <-g.first
	done := mustSend(t, b, ctx, followUp(task.GetId(), "here are my credentials"))
	if state(done) != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("follow-up on B = %v, want COMPLETED", done.GetStatus())
	}
	return a, b, task.GetId(), agentA
}

// TestReplicasFollowUpTakesOver: a task waits in AUTH_REQUIRED while its
// agent on replica A keeps running (credentials may come out of band); the
// caller's follow-up reaches replica B, whose execution takes the task
// over, and A's agent is stopped rather than left working on it too.
func TestReplicasFollowUpTakesOver(t *testing.T) {
	g := newTakeoverAgent(func(ctx context.Context, _ *server.TaskWriter) error {
		<-ctx.Done() // waiting for credentials out of band
		return ctx.Err()
	})
	a, _, id, agentA := startTakeover(t, g)
	if agentA.Err() == nil {
		t.Fatal("the agent on A still runs after B took the task over")
	}
	waitFor(t, "A to see the task completed", func() bool {
		got, err := a.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: id})
		return err == nil && state(got) == a2av1.TaskState_TASK_STATE_COMPLETED
	})
	if n := g.runs.Load(); n != 2 {
		t.Errorf("%d executions, want 2", n)
	}
}

// TestReplicasTakeoverWinsOverLateWrites: the agent on A writes (and then
// fails) right after replica B took its task over, racing A's follower.
// Whichever sees the takeover first, A's write is refused, A's agent is
// stopped, and B's execution decides the outcome.
func TestReplicasTakeoverWinsOverLateWrites(t *testing.T) {
	for i := range 5 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			lateWrite := make(chan error, 1)
			var g *takeoverAgent
			g = newTakeoverAgent(func(_ context.Context, w *server.TaskWriter) error {
				<-g.bStarted
				lateWrite <- w.Working("still here")
				return errors.New("the agent on A gives up")
			})
			a, b, id, _ := startTakeover(t, g)
			if err := <-lateWrite; err == nil {
				t.Error("A's agent wrote to a task B had taken over")
			}
			time.Sleep(200 * time.Millisecond) // A's agent has returned: its outcome must not land
			for name, h := range map[string]*server.Handler{"A": a, "B": b} {
				if got, err := h.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: id}); err != nil || state(got) != a2av1.TaskState_TASK_STATE_COMPLETED {
					t.Errorf("GetTask on %s = %v, %v; want COMPLETED", name, got.GetStatus(), err)
				}
			}
		})
	}
}
