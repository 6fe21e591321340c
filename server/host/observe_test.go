package host_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/server/webhook"
)

func start(t *testing.T, exec server.Executor, cfg host.Config) *host.Agent {
	t.Helper()
	a, err := host.Start(exec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return a
}

func dial(t *testing.T, ctx context.Context, url, transport string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(ctx, url, append([]client.Option{client.WithTransports(transport)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func userMessage(text string) *a2av1.SendMessageRequest {
	return &a2av1.SendMessageRequest{Message: &a2av1.Message{
		MessageId: fmt.Sprint(time.Now().UnixNano()), Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{server.TextPart(text)}}}
}

// TestTraceAcrossAgents: a caller asks agent A, whose agent asks agent B,
// each hop over the same transport. Every span lands in one trace, and B's
// execution descends from A's, which descends from the caller's span,
// through client and server spans of each hop.
func TestTraceAcrossAgents(t *testing.T) {
	for _, transport := range []string{client.TransportGRPC, client.TransportREST, client.TransportJSONRPC, client.TransportMesh} {
		t.Run(transport, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

			b := start(t, echo.Executor, host.Config{Tracer: tp})
			a := start(t, server.ExecutorFunc(func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
				c, err := client.New(ctx, b.URL(), client.WithTransports(transport), client.WithTracerProvider(tp))
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.SendMessage(ctx, userMessage("relayed: "+req.Text()))
				if err != nil {
					return err
				}
				return w.Complete(resp.GetTask().GetArtifacts()[0].GetParts()[0].GetText())
			}), host.Config{Tracer: tp})

			ctx, root := tp.Tracer("test").Start(context.Background(), "caller")
			c := dial(t, ctx, a.URL(), transport, client.WithTracerProvider(tp))
			resp, err := c.SendMessage(ctx, userMessage("hello"))
			root.End()
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.GetTask().GetStatus().GetState(); got != a2av1.TaskState_TASK_STATE_COMPLETED {
				t.Fatalf("A's task ended %v", got)
			}

			// Server and execution spans end just after their callers are
			// answered: wait until B's execution reaches the caller through
			// both hops, or the deadline.
			var deepest []tracetest.SpanStub
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				deepest = deepestExecution(t, exp.GetSpans(), root)
				complete := len(deepest) > 0 && deepest[len(deepest)-1].SpanContext.SpanID() == root.SpanContext().SpanID() &&
					countNamed(deepest, "a2a.task.execute") == 2 && countKind(deepest, trace.SpanKindServer) >= 2 &&
					countKind(deepest, trace.SpanKindClient) >= 2
				if complete || time.Now().After(deadline) {
					break
				}
			}
			var chain []string
			for _, s := range deepest {
				chain = append(chain, fmt.Sprintf("%s(%s)", s.Name, s.SpanKind))
			}
			t.Logf("B's execution, up to the caller: %s", strings.Join(chain, " <- "))
			if len(deepest) == 0 || deepest[len(deepest)-1].SpanContext.SpanID() != root.SpanContext().SpanID() {
				t.Fatalf("the deepest execution does not descend from the caller's span: %s", strings.Join(chain, " <- "))
			}
			if n := countNamed(deepest, "a2a.task.execute"); n != 2 {
				t.Errorf("chain holds %d executions, want B's under A's", n)
			}
			if n := countKind(deepest, trace.SpanKindServer); n < 2 {
				t.Errorf("chain holds %d server spans, want one per hop", n)
			}
			if n := countKind(deepest, trace.SpanKindClient); n < 2 {
				t.Errorf("chain holds %d client spans, want one per hop", n)
			}
		})
	}
}

// deepestExecution returns the longest chain of ancestors of an
// a2a.task.execute span, the execution first; spans not in root's trace are
// reported, but for the mesh streams' own.
func deepestExecution(t *testing.T, spans tracetest.SpanStubs, root trace.Span) []tracetest.SpanStub {
	t.Helper()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		// A mesh stream is shared by every request of its client and
		// outlives them: its own span starts a trace of its own, and the
		// requests' spans continue their callers' traces.
		if s.Name == "a2agrpc.mesh.v1.MeshService/Connect" {
			continue
		}
		if s.SpanContext.TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %q is in trace %s, want the caller's %s", s.Name, s.SpanContext.TraceID(), root.SpanContext().TraceID())
		}
		byID[s.SpanContext.SpanID()] = s
	}
	var deepest []tracetest.SpanStub
	for _, s := range spans {
		if s.Name != "a2a.task.execute" {
			continue
		}
		chain := []tracetest.SpanStub{s}
		for p := s; p.Parent.IsValid(); {
			next, ok := byID[p.Parent.SpanID()]
			if !ok {
				break
			}
			chain, p = append(chain, next), next
		}
		if len(chain) > len(deepest) {
			deepest = chain
		}
	}
	return deepest
}

func countNamed(spans tracetest.SpanStubs, name string) int {
	n := 0
	for _, s := range spans {
		if s.Name == name {
			n++
		}
	}
	return n
}

func countKind(spans []tracetest.SpanStub, k trace.SpanKind) int {
	n := 0
	for _, s := range spans {
		if s.SpanKind == k {
			n++
		}
	}
	return n
}

// scrape reads the admin listener's /metrics.
func scrape(t *testing.T, a *host.Agent) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + a.AdminAddr() + host.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value sums the samples of a series whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetricsMove: /metrics names every series from the start, and they
// move as tasks run over gRPC and HTTP: states, running executions, open
// subscriptions, fan-out, store operations, push deliveries and the
// per-binding request series.
func TestMetricsMove(t *testing.T) {
	hooks := make(chan *http.Request, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		hooks <- r
	}))
	defer receiver.Close()
	policy, err := webhook.NewPolicy("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	a := start(t, echo.Executor, host.Config{
		AdminAddr: "127.0.0.1:0", Metrics: prometheus.NewRegistry(), Card: echo.Card(nil),
		Handler: []server.Option{server.WithWebhooks(webhook.WithPolicy(policy))},
	})
	before := scrape(t, a)
	for _, name := range []string{
		"a2a_task_state_changes_total", "a2a_executions_running", "a2a_streams_active", "a2a_subscribers",
		"a2a_event_fanout_seconds", "a2a_push_deliveries_total", "grpc_server_handled_total", "grpc_server_handling_seconds",
		"a2a_tasks",
	} {
		if before[name] == nil {
			t.Errorf("/metrics lacks %s before any call", name)
		}
	}
	if got := value(before, "a2a_tasks", nil); got != 0 {
		t.Errorf("a2a_tasks = %v in an empty store, want 0", got)
	}

	ctx := context.Background()
	g := dial(t, ctx, a.URL(), client.TransportGRPC)
	rest := dial(t, ctx, a.URL(), client.TransportREST)
	req := userMessage("metered")
	req.Configuration = &a2av1.SendMessageConfiguration{TaskPushNotificationConfig: &a2av1.TaskPushNotificationConfig{Url: receiver.URL + "/hook"}}
	if _, err := g.SendMessage(ctx, req); err != nil {
		t.Fatal(err)
	}
	for _, err := range rest.SendStreamingMessage(ctx, userMessage("streamed")) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rest.GetTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"}); err == nil {
		t.Fatal("GetTask of an unknown task succeeded")
	}
	mesh := dial(t, ctx, a.URL(), client.TransportMesh)
	if _, err := mesh.GetTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"}); err == nil {
		t.Fatal("GetTask of an unknown task succeeded over the mesh")
	}
	if _, err := mesh.SendMessage(ctx, userMessage("over the mesh")); err != nil {
		t.Fatal(err)
	}
	held, err := g.SendMessage(ctx, &a2av1.SendMessageRequest{Message: userMessage(echo.Hold).Message,
		Configuration: &a2av1.SendMessageConfiguration{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	first := make(chan struct{})
	go func() {
		for range rest.SubscribeToTask(sctx, &a2av1.SubscribeToTaskRequest{Id: held.GetTask().GetId()}) {
			select {
			case <-first:
			default:
				close(first)
			}
		}
	}()
	<-first
	select {
	case <-hooks:
	case <-time.After(10 * time.Second):
		t.Fatal("no push notification arrived")
	}

	var during map[string]*dto.MetricFamily
	for deadline := time.Now().Add(5 * time.Second); ; {
		during = scrape(t, a)
		if (value(during, "a2a_push_deliveries_total", map[string]string{"outcome": "delivered"}) >= 1 &&
			value(during, "a2a_tasks", map[string]string{"state": "working"}) >= 1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"a2a_task_state_changes_total", map[string]string{"state": "completed"}, 3},
		{"a2agrpc_mesh_requests_total", map[string]string{"operation": "get_task", "code": "NotFound"}, 1},
		{"a2agrpc_mesh_requests_total", map[string]string{"operation": "send_message", "code": "OK"}, 1},
		{"a2agrpc_mesh_request_seconds", map[string]string{"operation": "send_message"}, 1},
		{"a2a_task_state_changes_total", map[string]string{"state": "working"}, 1},
		{"a2a_tasks", map[string]string{"state": "working"}, 1},
		{"a2a_tasks", map[string]string{"state": "completed"}, 3},
		{"a2a_executions_running", nil, 1},
		{"a2a_streams_active", map[string]string{"kind": "subscribe"}, 1},
		{"a2a_subscribers", nil, 1},
		{"a2a_event_fanout_seconds", nil, 5},
		{"a2a_push_deliveries_total", map[string]string{"outcome": "delivered"}, 1},
		{"a2a_store_operation_seconds", map[string]string{"op": "create"}, 4},
		{"a2a_store_operation_seconds", map[string]string{"op": "get"}, 1},
		{"grpc_server_handled_total", map[string]string{"grpc_method": "SendMessage", "grpc_code": "OK"}, 2},
		{"grpc_server_handling_seconds", map[string]string{"grpc_method": "SendMessage"}, 2},
		{"http_requests_total", map[string]string{"handler": "rest", "code": "200"}, 1},
		{"http_requests_total", map[string]string{"handler": "rest", "code": "404"}, 1},
		{"http_requests_total", map[string]string{"handler": "card"}, 2},
	} {
		if got := value(during, c.name, c.labels); got < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, got, c.min)
		}
	}
	if got := value(during, "a2a_store_errors_total", nil); got > 0 {
		t.Errorf("a2a_store_errors_total = %v, want 0 (not-found answers are not failures)", got)
	}

	// The subscription ends: its gauges fall back.
	if _, err := g.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: held.GetTask().GetId()}); err != nil {
		t.Fatal(err)
	}
	var after map[string]*dto.MetricFamily
	for deadline := time.Now().Add(5 * time.Second); ; {
		after = scrape(t, a)
		if (value(after, "a2a_streams_active", map[string]string{"kind": "subscribe"}) == 0 &&
			value(after, "a2a_tasks", map[string]string{"state": "working"}) == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, name := range []string{"a2a_streams_active", "a2a_subscribers", "a2a_executions_running"} {
		if got := value(after, name, nil); got != 0 {
			t.Errorf("%s = %v after every stream ended, want 0", name, got)
		}
	}
	if got := value(after, "a2a_task_state_changes_total", map[string]string{"state": "canceled"}); got != 1 {
		t.Errorf("canceled state changes = %v, want 1", got)
	}
	for state, want := range map[string]float64{"working": 0, "canceled": 1} {
		if got := value(after, "a2a_tasks", map[string]string{"state": state}); got != want {
			t.Errorf("a2a_tasks{state=%q} = %v after the cancel, want %v", state, got, want)
		}
	}
}

// TestReadinessDuringShutdown: once shutdown begins, /readyz and gRPC
// health turn to not serving at once, /healthz stays up, and a stream in
// flight still runs to its final event before the agent stops.
func TestReadinessDuringShutdown(t *testing.T) {
	release := make(chan struct{})
	a := start(t, server.ExecutorFunc(func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		if err := w.Working("waiting"); err != nil {
			return err
		}
		select {
		case <-release:
			return w.Complete("released")
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}), host.Config{AdminAddr: "127.0.0.1:0"})
	admin := "http://" + a.AdminAddr()
	status := func(path string) int {
		resp, err := http.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := func() healthpb.HealthCheckResponse_ServingStatus {
		r, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetStatus()
	}
	if s, r, h := status(host.HealthzPath), status(host.ReadyzPath), health(); s != 200 || r != 200 || h != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("before shutdown: healthz %d, readyz %d, gRPC health %v", s, r, h)
	}

	ctx := context.Background()
	c := dial(t, ctx, a.URL(), client.TransportREST, client.WithoutResume())
	events := make(chan *a2av1.StreamResponse, 8)
	streamErr := make(chan error, 1)
	go func() {
		defer close(events)
		for ev, err := range c.SendStreamingMessage(ctx, userMessage("in flight")) {
			if err != nil {
				streamErr <- err
				return
			}
			events <- ev
		}
	}()
	<-events // the task: the stream is open

	shut := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- a.Shutdown(sctx)
	}()
	for deadline := time.Now().Add(5 * time.Second); status(host.ReadyzPath) != http.StatusServiceUnavailable; {
		if time.Now().After(deadline) {
			t.Fatal("/readyz never turned 503 during shutdown")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := status(host.HealthzPath); s != http.StatusOK {
		t.Errorf("/healthz = %d during shutdown, want 200 (alive)", s)
	}
	select {
	case err := <-shut:
		t.Fatalf("shutdown returned (%v) with a stream in flight", err)
	default:
	}

	close(release)
	var last *a2av1.StreamResponse
	for ev := range events {
		last = ev
	}
	select {
	case err := <-streamErr:
		t.Fatalf("the stream in flight failed: %v", err)
	default:
	}
	if got := last.GetStatusUpdate().GetStatus().GetState(); got != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("stream ended with %v, want the completed status", last)
	}
	if err := <-shut; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("shutdown: %v", err)
	}
}

// TestQuiesce: the first step of a graceful shutdown turns readiness and
// gRPC health off while calls are still answered.
func TestQuiesce(t *testing.T) {
	a := start(t, echo.Executor, host.Config{AdminAddr: "127.0.0.1:0"})
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	a.Quiesce()
	r, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "lf.a2a.v1.A2AService"})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health after Quiesce: %v, %v; want NOT_SERVING", r, err)
	}
	resp, err := http.Get("http://" + a.AdminAddr() + host.ReadyzPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "shutting down") {
		t.Errorf("/readyz after Quiesce: %d %q", resp.StatusCode, body)
	}
	c := dial(t, context.Background(), a.URL(), client.TransportGRPC)
	if _, err := c.SendMessage(context.Background(), userMessage("still served")); err != nil {
		t.Errorf("a call after Quiesce failed: %v", err)
	}
}
