package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
)

// meshTraceServer starts a mesh server that traces into its own in-memory
// exporter, and returns it with a tracer provider exporting into a second
// one for the client side, so each side's spans can be told apart by where
// they were exported.
func meshTraceServer(t *testing.T) (ts *grpcTestServer, serverSpans, clientSpans *tracetest.InMemoryExporter, clientTP *sdktrace.TracerProvider) {
	t.Helper()
	serverSpans, clientSpans = tracetest.NewInMemoryExporter(), tracetest.NewInMemoryExporter()
	serverTP := sdktrace.NewTracerProvider(sdktrace.WithSyncer(serverSpans))
	clientTP = sdktrace.NewTracerProvider(sdktrace.WithSyncer(clientSpans))
	t.Cleanup(func() {
		_ = serverTP.Shutdown(context.Background())
		_ = clientTP.Shutdown(context.Background())
	})
	ts = startGRPC(t, grpcSetup{grpc: []grpcserver.Option{grpcserver.WithTracerProvider(serverTP)}})
	return ts, serverSpans, clientSpans, clientTP
}

// meshTraceCard is the test card with the test server's gRPC interface, so
// that the client picks the mesh.
func meshTraceCard(ts *grpcTestServer) *a2av1.AgentCard {
	card := grpcTestCard()
	card.SupportedInterfaces = []*a2av1.AgentInterface{{
		Url: ts.addr, ProtocolBinding: TransportGRPC, ProtocolVersion: a2agrpc.ProtocolVersion,
	}}
	return card
}

// spansNamed returns the spans of exp with this name, waiting until there
// are n: a server span ends after its last frame went out, possibly after
// the client already had it.
func spansNamed(t *testing.T, exp *tracetest.InMemoryExporter, name string, n int) []tracetest.SpanStub {
	t.Helper()
	var got []tracetest.SpanStub
	for deadline := time.Now().Add(10 * time.Second); ; {
		got = got[:0]
		for _, s := range exp.GetSpans() {
			if s.Name == name {
				got = append(got, s)
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(got) != n {
		t.Fatalf("%d spans named %q, want %d", len(got), name, n)
	}
	return got
}

// checkRequestSpans checks the spans of one mesh request: a client span,
// child of the caller's span, and the server's request span, child of the
// client span, all in the caller's trace. It returns the client span.
func checkRequestSpans(t *testing.T, serverSpans, clientSpans *tracetest.InMemoryExporter, op string, caller trace.SpanContext) tracetest.SpanStub {
	t.Helper()
	name := "a2agrpc.mesh.v1.MeshService/" + op
	cs := spansNamed(t, clientSpans, name, 1)[0]
	ss := spansNamed(t, serverSpans, name, 1)[0]
	if cs.SpanKind != trace.SpanKindClient {
		t.Errorf("%s: client span of kind %s", op, cs.SpanKind)
	}
	if ss.SpanKind != trace.SpanKindServer {
		t.Errorf("%s: server span of kind %s", op, ss.SpanKind)
	}
	if cs.InstrumentationScope.Name != "github.com/a2agrpc/a2agrpc/client" {
		t.Errorf("%s: client span from tracer %q", op, cs.InstrumentationScope.Name)
	}
	if cs.SpanContext.TraceID() != caller.TraceID() || ss.SpanContext.TraceID() != caller.TraceID() {
		t.Errorf("%s: client span in trace %s, server span in %s, want the caller's %s",
			op, cs.SpanContext.TraceID(), ss.SpanContext.TraceID(), caller.TraceID())
	}
	if cs.Parent.SpanID() != caller.SpanID() {
		t.Errorf("%s: client span's parent is %s, want the caller's span %s", op, cs.Parent.SpanID(), caller.SpanID())
	}
	if ss.Parent.SpanID() != cs.SpanContext.SpanID() || !ss.Parent.IsRemote() {
		t.Errorf("%s: server span's parent is %s (remote %t), want the client span %s",
			op, ss.Parent.SpanID(), ss.Parent.IsRemote(), cs.SpanContext.SpanID())
	}
	return cs
}

// With a tracer provider, every mesh request gets a client span: the
// caller's span is its parent and it is the parent of the server's request
// span. A failed request's span has Error status with the A2A reason.
func TestMeshTrace_clientSpanPerRequest(t *testing.T) {
	ts, serverSpans, clientSpans, tp := meshTraceServer(t)
	c, err := NewFromCard(meshTraceCard(ts), WithTransports(TransportMesh), WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Transport() != TransportMesh {
		t.Fatalf("transport %s, want the mesh", c.Transport())
	}
	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	defer caller.End()

	t.Run("unary", func(t *testing.T) {
		resp, err := c.SendMessage(ctx, grpcSendReq("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if got := grpcArtifactText(resp.GetTask()); got != "hello" {
			t.Fatalf("answer %q", got)
		}
		cs := checkRequestSpans(t, serverSpans, clientSpans, "send_message", caller.SpanContext())
		if cs.Status.Code != codes.Unset {
			t.Errorf("status %v %q, want unset", cs.Status.Code, cs.Status.Description)
		}
	})

	t.Run("stream", func(t *testing.T) {
		var n int
		for _, err := range c.SendStreamingMessage(ctx, grpcSendReq("streamed")) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 5 {
			t.Fatalf("%d events, want 5", n)
		}
		cs := checkRequestSpans(t, serverSpans, clientSpans, "send_streaming_message", caller.SpanContext())
		if cs.Status.Code != codes.Unset {
			t.Errorf("status %v %q, want unset", cs.Status.Code, cs.Status.Description)
		}
	})

	t.Run("failure", func(t *testing.T) {
		if _, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"}); !errors.Is(err, a2agrpc.ErrTaskNotFound) {
			t.Fatalf("unknown task: %v, want TaskNotFound", err)
		}
		cs := checkRequestSpans(t, serverSpans, clientSpans, "get_task", caller.SpanContext())
		if cs.Status.Code != codes.Error || cs.Status.Description != string(a2agrpc.ReasonTaskNotFound) {
			t.Errorf("status %v %q, want Error %q", cs.Status.Code, cs.Status.Description, a2agrpc.ReasonTaskNotFound)
		}
	})

	// A trace context forwarded with the call's headers does not cut the
	// client span out of the trace: the server's span is still its child.
	t.Run("forwardedTraceContext", func(t *testing.T) {
		fwd := WithCallHeaders(ctx, map[string]string{
			"Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		})
		if _, err := c.ListTasks(fwd, &a2av1.ListTasksRequest{}); err != nil {
			t.Fatal(err)
		}
		checkRequestSpans(t, serverSpans, clientSpans, "list_tasks", caller.SpanContext())
	})

	// The stream shared by the requests keeps its own span, outside the
	// callers' traces.
	for _, s := range clientSpans.GetSpans() {
		if s.Name == "a2agrpc.mesh.v1.MeshService/Connect" && s.SpanContext.TraceID() == caller.SpanContext().TraceID() {
			t.Errorf("the mesh stream's span is in the caller's trace")
		}
	}
}

// A streaming request's span ends as soon as its caller breaks out (without
// an error: the caller chose to stop) or its ctx ends (with the ctx's
// reason), even though the server would have sent more.
func TestMeshTrace_streamSpanEndsWhenAbandoned(t *testing.T) {
	ts, serverSpans, clientSpans, tp := meshTraceServer(t)
	tr := newTracedMesh(ts.conn, grpcTestParams(), tp)
	defer tr.close()
	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	defer caller.End()

	resp, err := tr.sendMessage(ctx, grpcSendNowReq("wait"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetTask().GetId()
	const name = "a2agrpc.mesh.v1.MeshService/subscribe_to_task"
	for _, err := range tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: id}, -1) {
		if err != nil {
			t.Fatal(err)
		}
		if n := len(spansOf(clientSpans, name)); n != 0 {
			t.Fatalf("%d subscription spans ended while the stream was read", n)
		}
		break
	}
	broken := spansOf(clientSpans, name) // the exporter is synchronous: ended means exported
	if len(broken) != 1 {
		t.Fatalf("%d subscription spans after breaking out, want 1", len(broken))
	}
	if broken[0].Status.Code != codes.Unset {
		t.Errorf("broken-out stream: status %v %q, want unset", broken[0].Status.Code, broken[0].Status.Description)
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last error
	for _, err := range tr.subscribeToTask(sctx, &a2av1.SubscribeToTaskRequest{Id: id}, -1) {
		if err != nil {
			last = err
			break
		}
		cancel()
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("stream after its ctx ended: %v, want Canceled", last)
	}
	spans := spansOf(clientSpans, name)
	if len(spans) != 2 {
		t.Fatalf("%d subscription spans after the ctx ended, want 2", len(spans))
	}
	if s := spans[1]; s.Status.Code != codes.Error || s.Status.Description != string(a2agrpc.ReasonCanceled) {
		t.Errorf("cancelled stream: status %v %q, want Error %q", s.Status.Code, s.Status.Description, a2agrpc.ReasonCanceled)
	}
	for i, s := range spans {
		if s.Parent.SpanID() != caller.SpanContext().SpanID() {
			t.Errorf("subscription %d: parent %s, want the caller's span", i, s.Parent.SpanID())
		}
	}
	// The server's subscription spans are children of the client's.
	srv := spansNamed(t, serverSpans, name, 2)
	for _, s := range srv {
		if s.Parent.SpanID() != spans[0].SpanContext.SpanID() && s.Parent.SpanID() != spans[1].SpanContext.SpanID() {
			t.Errorf("server subscription span's parent %s is neither client subscription span", s.Parent.SpanID())
		}
	}
	if _, err := tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
}

// A request that cannot even be sent (its ctx ended while the stream was
// being opened) still ends its span, with the reason.
func TestMeshTrace_spanOfUnsentRequest(t *testing.T) {
	ts, _, clientSpans, tp := meshTraceServer(t)
	ts.stop(t) // nothing answers: the stream cannot open
	tr := newTracedMesh(ts.conn, grpcTestParams(), tp)
	defer tr.close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: "x"})
	if err == nil {
		t.Fatal("a request to a stopped server succeeded")
	}
	spans := spansOf(clientSpans, "a2agrpc.mesh.v1.MeshService/get_task")
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	if s := spans[0]; s.Status.Code != codes.Error || s.Status.Description != string(a2agrpc.AsError(err).Reason) {
		t.Errorf("status %v %q, want Error %q", s.Status.Code, s.Status.Description, a2agrpc.AsError(err).Reason)
	}
}

// Without a tracer provider the client records nothing of its own: the
// frame carries the caller's trace context, which the server's request span
// continues directly.
func TestMeshTrace_noTracerNoClientSpan(t *testing.T) {
	ts, serverSpans, clientSpans, tp := meshTraceServer(t)
	c, err := NewFromCard(meshTraceCard(ts), WithTransports(TransportMesh))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	if _, err := c.SendMessage(ctx, grpcSendReq("untraced")); err != nil {
		t.Fatal(err)
	}
	caller.End()
	ss := spansNamed(t, serverSpans, "a2agrpc.mesh.v1.MeshService/send_message", 1)[0]
	if ss.Parent.SpanID() != caller.SpanContext().SpanID() || ss.SpanContext.TraceID() != caller.SpanContext().TraceID() {
		t.Errorf("server span's parent %s in trace %s, want the caller's span %s",
			ss.Parent.SpanID(), ss.SpanContext.TraceID(), caller.SpanContext().SpanID())
	}
	if got := clientSpans.GetSpans(); len(got) != 1 || got[0].Name != "caller" {
		var names []string
		for _, s := range got {
			names = append(names, fmt.Sprintf("%s(%s)", s.Name, s.SpanKind))
		}
		t.Errorf("client-side spans %v, want only the caller's", names)
	}
}

// spansOf returns the spans of exp with this name, as they are now.
func spansOf(exp *tracetest.InMemoryExporter, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}
