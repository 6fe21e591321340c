package client_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/server/taskstore/sqlitestore"
)

var transports = []string{client.TransportMesh, client.TransportGRPC, client.TransportREST, client.TransportJSONRPC}

// recorder is the echo agent, remembering the extensions each call asked
// for and counting executions.
type recorder struct {
	mu         sync.Mutex
	extensions [][]string
	runs       int
}

func (r *recorder) Execute(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	r.mu.Lock()
	r.extensions = append(r.extensions, server.CallInfoFrom(ctx).Extensions)
	r.runs++
	r.mu.Unlock()
	return echo.Executor.Execute(ctx, req, w)
}

func (r *recorder) executions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs
}

func (r *recorder) lastExtensions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.extensions) == 0 {
		return nil
	}
	return r.extensions[len(r.extensions)-1]
}

// serve starts an agent on loopback gRPC and HTTP listeners.
func serve(t *testing.T, exec server.Executor, opts ...server.Option) *host.Agent {
	t.Helper()
	agent, err := host.Start(exec, host.Config{Card: echo.Card(nil), Handler: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := agent.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return agent
}

func dial(t *testing.T, agent *host.Agent, transport string, opts ...client.Option) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(ctx, agent.URL(), append([]client.Option{client.WithTransports(transport)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Transport() != transport {
		t.Fatalf("client uses %s, want %s", c.Transport(), transport)
	}
	return c
}

func message(text string) *a2av1.Message {
	return &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: text}}}}
}

func send(text string) *a2av1.SendMessageRequest {
	return &a2av1.SendMessageRequest{Message: message(text)}
}

// kind names an event for comparisons: task:<state>, status:<state>,
// artifact:<text>, message.
func kind(ev *a2av1.StreamResponse) string {
	short := func(s a2av1.TaskState) string {
		return strings.ToLower(strings.TrimPrefix(s.String(), "TASK_STATE_"))
	}
	switch {
	case ev.GetTask() != nil:
		return "task:" + short(ev.GetTask().GetStatus().GetState())
	case ev.GetStatusUpdate() != nil:
		return "status:" + short(ev.GetStatusUpdate().GetStatus().GetState())
	case ev.GetArtifactUpdate() != nil:
		return "artifact:" + ev.GetArtifactUpdate().GetArtifact().GetParts()[0].GetText()
	case ev.GetMessage() != nil:
		return "message"
	}
	return "?"
}

func collect(t *testing.T, seq func(func(*a2av1.StreamResponse, error) bool)) ([]string, error) {
	t.Helper()
	var got []string
	for ev, err := range seq {
		if err != nil {
			return got, err
		}
		got = append(got, kind(ev))
	}
	return got, nil
}

// TestEveryOperation drives all eleven operations over each transport
// against a real server.
func TestEveryOperation(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			agent := serve(t, rec)
			c := dial(t, agent, tr, client.WithExtensions("urn:test:a"))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			// SendMessage, with a per-call extension on top of the client's.
			resp, err := c.SendMessage(client.WithCallExtensions(ctx, "urn:test:b"), send("abcdef"))
			if err != nil {
				t.Fatal(err)
			}
			task := resp.GetTask()
			if task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED || len(task.GetArtifacts()) != 1 {
				t.Fatalf("SendMessage = %v", resp)
			}
			if got := rec.lastExtensions(); !slices.Equal(got, []string{"urn:test:a", "urn:test:b"}) {
				t.Errorf("the agent saw extensions %v", got)
			}

			// SendStreamingMessage: the echo agent's five events, in order.
			got, err := collect(t, c.SendStreamingMessage(ctx, send("abcdef")))
			if err != nil {
				t.Fatal(err)
			}
			if want := "task:working artifact:ab artifact:cd artifact:ef status:completed"; strings.Join(got, " ") != want {
				t.Errorf("stream = %v, want %s", got, want)
			}

			// GetTask, and the error of an unknown one.
			got1, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId()})
			if err != nil || got1.GetId() != task.GetId() {
				t.Errorf("GetTask = %v, %v", got1, err)
			}
			if _, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"}); !errors.Is(err, a2agrpc.ErrTaskNotFound) {
				t.Errorf("GetTask(unknown) = %v, want ErrTaskNotFound", err)
			}

			// ListTasks and its page iterator.
			if _, err := c.SendMessage(ctx, send("third")); err != nil {
				t.Fatal(err)
			}
			page, err := c.ListTasks(ctx, &a2av1.ListTasksRequest{})
			if err != nil || len(page.GetTasks()) != 3 {
				t.Fatalf("ListTasks = %d tasks, %v", len(page.GetTasks()), err)
			}
			var ids []string
			pages := 0
			for p, err := range c.ListTaskPages(ctx, &a2av1.ListTasksRequest{PageSize: proto.Int32(1)}) {
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, tk := range p.GetTasks() {
					ids = append(ids, tk.GetId())
				}
			}
			slices.Sort(ids)
			if pages != 3 || len(slices.Compact(ids)) != 3 {
				t.Errorf("ListTaskPages: %d pages, tasks %v", pages, ids)
			}

			// SubscribeToTask on a held task, then CancelTask ends it.
			held, err := c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: message(echo.Hold),
				Configuration: &a2av1.SendMessageConfiguration{ReturnImmediately: true}})
			if err != nil {
				t.Fatal(err)
			}
			heldID := held.GetTask().GetId()
			events := make(chan string, 10)
			subErr := make(chan error, 1)
			go func() {
				for ev, err := range c.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: heldID}) {
					if err != nil {
						subErr <- err
						return
					}
					events <- kind(ev)
				}
				close(events)
			}()
			if first := <-events; !strings.HasPrefix(first, "task:") {
				t.Fatalf("subscription began with %s", first)
			}
			canceled, err := c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: heldID})
			if err != nil || canceled.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
				t.Fatalf("CancelTask = %v, %v", canceled, err)
			}
			var last string
			for ev := range events {
				last = ev
			}
			select {
			case err := <-subErr:
				t.Fatalf("subscription: %v", err)
			default:
			}
			if last != "status:canceled" {
				t.Errorf("subscription ended with %q", last)
			}
			if _, err := c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: heldID}); !errors.Is(err, a2agrpc.ErrTaskNotCancelable) {
				t.Errorf("second CancelTask = %v, want ErrTaskNotCancelable", err)
			}

			// Push notification configs: create, get, list, delete.
			cfg, err := c.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{
				TaskId: task.GetId(), Url: "https://hooks.example.com/a2a", Token: "t0k"})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.GetId() == "" || cfg.GetUrl() != "https://hooks.example.com/a2a" {
				t.Errorf("created config = %v", cfg)
			}
			g, err := c.GetTaskPushNotificationConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: cfg.GetId()})
			if err != nil || g.GetUrl() != cfg.GetUrl() {
				t.Errorf("GetTaskPushNotificationConfig = %v, %v", g, err)
			}
			l, err := c.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId()})
			if err != nil || len(l.GetConfigs()) != 1 {
				t.Errorf("ListTaskPushNotificationConfigs = %v, %v", l, err)
			}
			if err := c.DeleteTaskPushNotificationConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: cfg.GetId()}); err != nil {
				t.Errorf("DeleteTaskPushNotificationConfig: %v", err)
			}
			if _, err := c.GetTaskPushNotificationConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: cfg.GetId()}); err == nil {
				t.Error("the deleted config is still there")
			}

			// GetExtendedAgentCard: the echo card does not offer one.
			if _, err := c.GetExtendedAgentCard(ctx, nil); !errors.Is(err, a2agrpc.ErrUnsupportedOperation) {
				t.Errorf("GetExtendedAgentCard = %v, want ErrUnsupportedOperation", err)
			}
		})
	}
}

// TestTenant: the client's tenant reaches the server on every transport,
// and tasks of one tenant are not found under another.
func TestTenant(t *testing.T) {
	agent := serve(t, &recorder{})
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a := dial(t, agent, tr, client.WithTenant("tenant-a"))
			b := dial(t, agent, tr, client.WithTenant("tenant-b"))
			resp, err := a.SendMessage(ctx, send("hi"))
			if err != nil {
				t.Fatal(err)
			}
			id := resp.GetTask().GetId()
			if _, err := a.GetTask(ctx, &a2av1.GetTaskRequest{Id: id}); err != nil {
				t.Errorf("GetTask under its tenant: %v", err)
			}
			if _, err := b.GetTask(ctx, &a2av1.GetTaskRequest{Id: id}); !errors.Is(err, a2agrpc.ErrTaskNotFound) {
				t.Errorf("GetTask under another tenant = %v, want ErrTaskNotFound", err)
			}
		})
	}
}

// TestRetryHonoursRetryAfter: under a rate limit, idempotent calls wait for
// the server's Retry-After and succeed, while SendMessage is never
// repeated: its rejection reaches the caller and the agent ran once.
func TestRetryHonoursRetryAfter(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			agent := serve(t, rec, server.WithRateLimit(2, 1))
			c := dial(t, agent, tr, client.WithRetry(client.RetryPolicy{MaxAttempts: 10, InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resp, err := c.SendMessage(ctx, send("once"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.SendMessage(ctx, send("twice"))
			if !errors.Is(err, a2agrpc.ErrResourceExhausted) || a2agrpc.AsError(err).RetryAfter <= 0 {
				t.Fatalf("second SendMessage at once = %v, want ResourceExhausted with a Retry-After", err)
			}
			if n := rec.executions(); n != 1 {
				t.Errorf("the agent ran %d times, want 1: SendMessage must not be retried", n)
			}
			start := time.Now()
			for range 3 {
				if _, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: resp.GetTask().GetId()}); err != nil {
					t.Fatalf("GetTask under the rate limit: %v", err)
				}
			}
			// 1 token per 500 ms: three calls need at least ~1 s of waiting (and a
			// loaded machine is unlikely to refill a token between the sends).
			if waited := time.Since(start); waited < 300*time.Millisecond {
				t.Errorf("three rate-limited GetTask calls took %v: Retry-After was not honoured", waited)
			}
		})
	}
}

// TestRetryGivesUp: an idempotent call to an agent that is gone fails with
// ReasonUnavailable after the policy's attempts.
func TestRetryGivesUp(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			agent := serve(t, &recorder{})
			c := dial(t, agent, tr, client.WithRetry(client.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := agent.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			_, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: "x"})
			if !errors.Is(err, a2agrpc.ErrUnavailable) {
				t.Errorf("GetTask on a stopped agent = %v, want ErrUnavailable", err)
			}
		})
	}
}

// stepper is an agent the test drives: one artifact chunk per value on
// steps, completion when steps is closed.
type stepper struct {
	steps   chan string
	started chan struct{}
}

func (s *stepper) Execute(ctx context.Context, _ *server.Request, w *server.TaskWriter) error {
	if err := w.Working(""); err != nil {
		return err
	}
	close(s.started)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case text, ok := <-s.steps:
			if !ok {
				return nil
			}
			if err := w.ArtifactChunk(server.TextArtifact("out", text), i > 0, false); err != nil {
				return err
			}
		}
	}
}

// proxied returns the agent's card with every interface behind p (gRPC)
// and hp (HTTP).
func proxied(t *testing.T, agent *host.Agent) (*a2av1.AgentCard, *proxy, *proxy) {
	t.Helper()
	gp := newProxy(t, agent.GRPCAddr())
	httpHost := strings.TrimPrefix(agent.URL(), "http://")
	hp := newProxy(t, httpHost)
	card := proto.Clone(agent.Card()).(*a2av1.AgentCard)
	for _, i := range card.GetSupportedInterfaces() {
		if i.GetProtocolBinding() == a2agrpc.BindingGRPC {
			i.Url = gp.addr()
		} else {
			i.Url = strings.Replace(i.GetUrl(), httpHost, hp.addr(), 1)
		}
	}
	return card, gp, hp
}

// TestStreamResumesAfterDrop cuts the connection under a streaming send:
// the client subscribes again and the caller gets every remaining event,
// none twice, and the end.
func TestStreamResumesAfterDrop(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			agent := &stepper{steps: make(chan string), started: make(chan struct{})}
			// SQLite, the default of `a2agrpc serve`, keeps the event log
			// of finished tasks, so a stream cut just before the end is
			// replayed exactly; the memory store keeps none (the final
			// Task stands in for the missed events).
			store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "tasks.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			a := serve(t, agent, server.WithTaskStore(store))
			card, gp, hp := proxied(t, a)
			c, err := client.NewFromCard(card, client.WithTransports(tr),
				client.WithRetry(client.RetryPolicy{MaxAttempts: 20, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			var got []string
			var seen []string // artifact text the caller holds, snapshot included
			step := 0
			for ev, err := range c.SendStreamingMessage(ctx, send("go")) {
				if err != nil {
					t.Fatalf("after %v: %v", got, err)
				}
				got = append(got, kind(ev))
				if tk := ev.GetTask(); tk != nil {
					seen = nil
					for _, a := range tk.GetArtifacts() {
						for _, p := range a.GetParts() {
							seen = append(seen, p.GetText())
						}
					}
				}
				if au := ev.GetArtifactUpdate(); au != nil {
					seen = append(seen, au.GetArtifact().GetParts()[0].GetText())
				}
				switch step {
				case 0: // the task: send the first chunk
					<-agent.started
					agent.steps <- "a"
				case 1: // the first chunk: cut, and finish while cut off
					gp.cut()
					hp.cut()
					agent.steps <- "b"
					agent.steps <- "c"
					close(agent.steps)
				}
				step++
			}
			// Plain gRPC carries no event ids: a task that ended while the
			// client was away is reported by its final Task.
			if last := got[len(got)-1]; last != "status:completed" && (tr != client.TransportGRPC || last != "task:completed") {
				t.Fatalf("events %v do not end with the completion", got)
			}
			if strings.Join(seen, "") != "abc" {
				t.Errorf("artifact text %q from events %v, want abc exactly once", strings.Join(seen, ""), got)
			}
			if tr != client.TransportGRPC {
				// Event ids: the resumed subscription replays exactly
				// what was missed.
				if want := "task:working artifact:a artifact:b artifact:c status:completed"; strings.Join(got, " ") != want {
					t.Errorf("events %v, want %s", got, want)
				}
			}
		})
	}
}

// TestNoResume: with WithoutResume a dropped stream ends with
// ErrUnavailable.
func TestNoResume(t *testing.T) {
	agent := &stepper{steps: make(chan string), started: make(chan struct{})}
	a := serve(t, agent)
	card, gp, _ := proxied(t, a)
	c, err := client.NewFromCard(card, client.WithTransports(client.TransportGRPC), client.WithoutResume())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last error
	for _, err := range c.SendStreamingMessage(ctx, send("go")) {
		if err != nil {
			last = err
			break
		}
		<-agent.started
		gp.cut()
	}
	if !errors.Is(last, a2agrpc.ErrUnavailable) {
		t.Errorf("dropped stream ended with %v, want ErrUnavailable", last)
	}
	close(agent.steps)
}

// TestTransportChoice: the preference order picks the first advertised
// transport; an agent offering none of them is refused with a clear error.
func TestTransportChoice(t *testing.T) {
	agent := serve(t, &recorder{})
	for _, tc := range []struct {
		prefs []string
		want  string
	}{
		{nil, client.TransportMesh},
		{[]string{client.TransportJSONRPC, client.TransportGRPC}, client.TransportJSONRPC},
		{[]string{"SOAP", client.TransportREST}, client.TransportREST},
	} {
		t.Run(fmt.Sprint(tc.prefs), func(t *testing.T) {
			var opts []client.Option
			if tc.prefs != nil {
				opts = append(opts, client.WithTransports(tc.prefs...))
			}
			c, err := client.NewFromCard(agent.Card(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Transport() != tc.want {
				t.Errorf("Transport() = %s, want %s", c.Transport(), tc.want)
			}
		})
	}
	if _, err := client.NewFromCard(agent.Card(), client.WithTransports("SOAP")); err == nil || !strings.Contains(err.Error(), "SOAP") {
		t.Errorf("no usable transport: %v", err)
	}
}

// blocker holds each execution until release is closed, counting them.
type blocker struct {
	mu      sync.Mutex
	runs    int
	started chan struct{}
	release chan struct{}
}

func (b *blocker) Execute(ctx context.Context, _ *server.Request, w *server.TaskWriter) error {
	b.mu.Lock()
	b.runs++
	b.mu.Unlock()
	if err := w.Working(""); err != nil {
		return err
	}
	b.started <- struct{}{}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// TestSendNeverRepeated cuts the connection under a blocking SendMessage
// that the agent is executing: the caller gets ErrUnavailable and the
// message is not sent again, although the retry policy would allow it for
// an idempotent call.
func TestSendNeverRepeated(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			agent := &blocker{started: make(chan struct{}, 10), release: make(chan struct{})}
			a := serve(t, agent)
			defer close(agent.release)
			card, gp, hp := proxied(t, a)
			c, err := client.NewFromCard(card, client.WithTransports(tr),
				client.WithRetry(client.RetryPolicy{MaxAttempts: 10, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sent := make(chan error, 1)
			go func() {
				_, err := c.SendMessage(ctx, send("once only"))
				sent <- err
			}()
			<-agent.started
			gp.cut()
			hp.cut()
			if err := <-sent; !errors.Is(err, a2agrpc.ErrUnavailable) {
				t.Errorf("SendMessage cut off = %v, want ErrUnavailable", err)
			}
			select {
			case <-agent.started:
				t.Error("the message was sent again")
			case <-time.After(300 * time.Millisecond):
			}
			agent.mu.Lock()
			defer agent.mu.Unlock()
			if agent.runs != 1 {
				t.Errorf("the agent ran %d times, want 1", agent.runs)
			}
		})
	}
}
