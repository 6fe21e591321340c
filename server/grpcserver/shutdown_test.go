package grpcserver_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// Graceful stop with streams open: subscriptions end at once with a clean
// UNAVAILABLE; a send stream whose agent finishes within the deadline
// completes normally; one that does not is interrupted at the deadline and
// ends with its task's FAILED status.
func TestShutdown_drainsStreams(t *testing.T) {
	release := make(chan struct{})
	exec := server.ExecutorFunc(func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		if err := w.Working(""); err != nil {
			return err
		}
		switch req.Text() {
		case "finishes":
			<-release
			return w.Artifact(server.TextArtifact("a", "done"))
		default: // "hangs"
			<-ctx.Done()
			return context.Cause(ctx)
		}
	})
	ts := start(t, setup{exec: exec})
	ctx := context.Background()

	finishing, err := ts.a2a.SendStreamingMessage(ctx, send("finishes"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := finishing.Recv()
	if err != nil {
		t.Fatal(err)
	}
	hanging, err := ts.a2a.SendStreamingMessage(ctx, send("hangs"))
	if err != nil {
		t.Fatal(err)
	}
	hangFirst, err := hanging.Recv()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := ts.a2a.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: first.GetTask().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Recv(); err != nil {
		t.Fatal(err)
	}

	shutdownCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- ts.srv.Shutdown(shutdownCtx) }()

	_, err = recvAll(t, sub.Recv)
	wantStatus(t, err, codes.Unavailable, a2agrpc.ReasonUnavailable)

	hc := healthpb.NewHealthClient(ts.conn)
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
		t.Error("health still SERVING while draining")
	}

	close(release)
	evs, err := recvAll(t, finishing.Recv)
	if err != nil || kinds(evs) != "artifact status:TASK_STATE_COMPLETED" {
		t.Errorf("finishing stream = %s, %v; want it to complete", kinds(evs), err)
	}
	evs, err = recvAll(t, hanging.Recv)
	if err != nil || kinds(evs) != "status:TASK_STATE_FAILED" {
		t.Errorf("hanging stream = %s, %v; want the interrupted task's FAILED status", kinds(evs), err)
	}
	if err := <-stopped; err == nil {
		t.Error("Shutdown returned nil although the deadline forced streams closed")
	}
	got, err := ts.h.GetTask(ctx, &a2av1.GetTaskRequest{Id: hangFirst.GetTask().GetId()})
	if err != nil || got.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_FAILED {
		t.Errorf("hanging task after shutdown = %v, %v; want FAILED (interrupted)", got.GetStatus(), err)
	}
}

// Shutdown finishes within its deadline plus a short grace even when a
// client holds a health Watch and another stopped reading a stream.
func TestShutdown_boundedWithStuckClients(t *testing.T) {
	ts := start(t, setup{handler: []server.Option{server.WithStreamBuffer(1 << 16)}})
	ctx := context.Background()
	watch, err := healthpb.NewHealthClient(ts.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}
	stuck, err := ts.a2a.SendStreamingMessage(ctx, send("flood"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stuck.Recv(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server's send window fills up
	sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = ts.srv.Shutdown(sctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Shutdown took %v with a 300ms deadline", took)
	}
}
