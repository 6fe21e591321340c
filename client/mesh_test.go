package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
)

func meshMaker(ts *grpcTestServer, p params) transport { return newMesh(ts.conn, p) }

func TestMesh_operations(t *testing.T) { grpcSuiteOperations(t, meshMaker) }

func TestMesh_errors(t *testing.T) { grpcSuiteErrors(t, meshMaker) }

func TestMesh_contextEnds(t *testing.T) { grpcSuiteContextEnds(t, meshMaker) }

func TestMesh_extensionsReachTheAgent(t *testing.T) { grpcSuiteExtensions(t, meshMaker) }

// Many concurrent calls share one stream, and each gets its own answers.
// Heartbeats on the quiet stream are ignored.
func TestMesh_concurrentRequestsShareOneStream(t *testing.T) {
	ts := startGRPC(t, grpcSetup{grpc: []grpcserver.Option{grpcserver.WithMeshLimits(0, 10*time.Millisecond)}})
	tr := newMesh(ts.conn, grpcTestParams())
	defer tr.close()
	ctx := context.Background()
	if _, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: "x"}); !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // a few heartbeats

	const sends, streams = 100, 20
	var wg sync.WaitGroup
	for i := range sends {
		wg.Go(func() {
			text := fmt.Sprintf("message number %03d", i)
			resp, err := tr.sendMessage(ctx, grpcSendReq(text))
			if err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			if got := grpcArtifactText(resp.GetTask()); got != text {
				t.Errorf("send %d got %q, want %q (answers crossed?)", i, got, text)
			}
		})
	}
	for i := range streams {
		wg.Go(func() {
			evs, err := collectStream(tr.sendStreamingMessage(ctx, grpcSendReq(fmt.Sprintf("stream number %03d", i))))
			if err != nil {
				t.Errorf("stream %d: %v", i, err)
				return
			}
			if got := grpcEventKinds(evs); got != "task:TASK_STATE_WORKING artifact artifact artifact status:TASK_STATE_COMPLETED" {
				t.Errorf("stream %d: %s", i, got)
			}
			taskID := evs[0].resp.GetTask().GetId()
			for _, ev := range evs[1:] {
				if id := grpcTaskOf(ev); id != taskID {
					t.Errorf("stream %d: event of task %s in the stream of %s", i, id, taskID)
				}
			}
		})
	}
	wg.Wait()
	if n := ts.rec.count(grpcMethodConnect); n != 1 {
		t.Errorf("%d Connect streams, want 1", n)
	}
}

// Breaking out of a stream cancels that request on the server: with room
// for one request in flight, the next request is accepted only once the
// server released the abandoned one.
func TestMesh_breakCancelsServerSide(t *testing.T) {
	ts := startGRPC(t, grpcSetup{grpc: []grpcserver.Option{grpcserver.WithMeshLimits(1, -1)}})
	tr := newMesh(ts.conn, grpcTestParams())
	defer tr.close()
	ctx := context.Background()
	resp, err := tr.sendMessage(ctx, grpcSendNowReq("wait"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetTask().GetId()
	for _, err := range tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: id}, -1) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	grpcEventually(t, "a request after breaking out", func() error {
		_, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: id})
		return err
	})
	// The same through a ctx that ends mid-stream.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, err := range tr.subscribeToTask(sctx, &a2av1.SubscribeToTaskRequest{Id: id}, -1) {
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			break
		}
		cancel()
	}
	grpcEventually(t, "a request after cancelling a stream", func() error {
		_, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: id})
		return err
	})
	if n := ts.rec.count(grpcMethodConnect); n != 1 {
		t.Errorf("%d Connect streams, want 1", n)
	}
}

// A consumer that stops reading one stream does not hold up the others; its
// request fails with ResourceExhausted once its buffer is full.
func TestMesh_slowConsumerFailsAlone(t *testing.T) {
	ts := startGRPC(t, grpcSetup{})
	tr := newMesh(ts.conn, grpcTestParams()).(*meshTransport)
	defer tr.close()
	tr.buffer = 4
	ctx := context.Background()

	next, stop := iter.Pull2(iter.Seq2[event, error](tr.sendStreamingMessage(ctx, grpcSendReq("flood 500"))))
	defer stop()
	if _, err, ok := next(); err != nil || !ok {
		t.Fatalf("first event: %v", err)
	}
	// The others carry on while the flood waits in its buffer.
	for i := range 20 {
		if _, err := tr.sendMessage(ctx, grpcSendReq(fmt.Sprint("meanwhile ", i))); err != nil {
			t.Fatal(err)
		}
	}
	grpcEventually(t, "the flooded request leaving the routing table", func() error {
		if n := tr.pendingCount(); n != 1 {
			return nil
		}
		return errors.New("still pending")
	})
	var got int
	var err error
	for {
		var ok bool
		if _, err, ok = next(); !ok || err != nil {
			break
		}
		got++
	}
	if !errors.Is(err, a2agrpc.ErrResourceExhausted) {
		t.Fatalf("slow consumer ended with %v after %d more events, want ResourceExhausted", err, got)
	}
	if got > tr.buffer {
		t.Errorf("%d events after the first, more than the buffer of %d", got, tr.buffer)
	}
	if _, err := tr.sendMessage(ctx, grpcSendReq("still fine")); err != nil {
		t.Errorf("after the overflow: %v", err)
	}
}

// A positive after resumes a subscription: exactly the events after that
// sequence number, then the live ones.
func TestMesh_subscribeResumesAfterSequence(t *testing.T) {
	ts := startGRPC(t, grpcSetup{})
	tr := newMesh(ts.conn, grpcTestParams())
	defer tr.close()
	ctx := context.Background()

	next, stop := iter.Pull2(iter.Seq2[event, error](tr.sendStreamingMessage(ctx, grpcSendReq("steps 3"))))
	defer stop()
	var seen []event
	for range 4 { // the task, then three chunks; the task stays open
		ev, err, ok := next()
		if err != nil || !ok {
			t.Fatalf("event %d: %v", len(seen), err)
		}
		seen = append(seen, ev)
	}
	taskID := seen[0].resp.GetTask().GetId()

	after := seen[1].seq // the client saw the task and the first chunk
	var got []event
	for ev, err := range tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: taskID}, after) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
		if len(got) == 2 {
			if _, err := tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Id: taskID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != 3 {
		t.Fatalf("resumed after %d: %s, want the last two chunks and the cancellation", after, grpcEventKinds(got))
	}
	for i, ev := range got[:2] {
		if ev.seq != seen[2+i].seq {
			t.Errorf("resumed event %d has sequence %d, want %d", i, ev.seq, seen[2+i].seq)
		}
	}
	if grpcEventKinds(got[2:]) != "status:TASK_STATE_CANCELED" || got[2].seq <= seen[3].seq {
		t.Errorf("live event after the replay: %s with sequence %d", grpcEventKinds(got[2:]), got[2].seq)
	}
}

// When the server goes away, the requests in flight fail with UNAVAILABLE;
// once it is back, the next call opens a new stream.
func TestMesh_reconnectsAfterTheServerComesBack(t *testing.T) {
	ts := startGRPC(t, grpcSetup{})
	tr := newMesh(ts.conn, grpcTestParams())
	defer tr.close()
	ctx := context.Background()

	resp, err := tr.sendMessage(ctx, grpcSendNowReq("wait"))
	if err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := collectStream(tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: resp.GetTask().GetId()}, -1))
		blocked <- err
	}()
	meshWaitPending(t, tr.(*meshTransport), 1)
	ts.stop(t)
	select {
	case err := <-blocked:
		if !errors.Is(err, a2agrpc.ErrUnavailable) {
			t.Fatalf("request in flight when the server went away: %v, want UNAVAILABLE", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request in flight did not fail when the server went away")
	}
	// While the server is down, calls fail fast with UNAVAILABLE.
	if _, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: "x"}); !errors.Is(err, a2agrpc.ErrUnavailable) {
		t.Errorf("call with the server down: %v, want UNAVAILABLE", err)
	}

	ts.restart(t)
	grpcEventually(t, "a call after the restart", func() error {
		_, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: "x"})
		if errors.Is(err, a2agrpc.ErrTaskNotFound) { // the new server knows no task
			return nil
		}
		return err
	})
	if n := ts.rec.count(grpcMethodConnect); n != 2 {
		t.Errorf("%d Connect streams, want 2", n)
	}
}

// close fails the requests in flight and every later call, and stops the
// stream's reader.
func TestMesh_close(t *testing.T) {
	ts := startGRPC(t, grpcSetup{})
	tr := newMesh(ts.conn, grpcTestParams()).(*meshTransport)
	ctx := context.Background()
	failed := make(chan error, 1)
	go func() {
		_, err := tr.sendMessage(ctx, grpcSendReq("wait"))
		failed <- err
	}()
	meshWaitPending(t, tr, 1)
	s := tr.cur
	if err := tr.close(); err != nil {
		t.Fatal(err)
	}
	if err := <-failed; !errors.Is(err, a2agrpc.ErrUnavailable) {
		t.Errorf("request in flight at close: %v, want UNAVAILABLE", err)
	}
	select {
	case <-s.exited:
	default:
		t.Error("close returned before the stream's reader stopped")
	}
	if _, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: "x"}); !errors.Is(err, a2agrpc.ErrUnavailable) {
		t.Errorf("call after close: %v, want UNAVAILABLE", err)
	}
	if err := tr.close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// A server that refuses the stream itself (credentials, version at
// Connect) is reported with its own error, not as a broken stream.
func TestMesh_streamRefusedWithServerError(t *testing.T) {
	refuse := a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "who are you?")
	ts := startGRPC(t, grpcSetup{grpc: []grpcserver.Option{grpcserver.WithInterceptors(nil,
		[]grpc.StreamServerInterceptor{func(any, grpc.ServerStream, *grpc.StreamServerInfo, grpc.StreamHandler) error {
			return refuse
		}})}})
	tr := newMesh(ts.conn, grpcTestParams())
	defer tr.close()
	_, err := tr.getTask(context.Background(), &a2av1.GetTaskRequest{Id: "x"})
	if !errors.Is(err, a2agrpc.ErrUnauthenticated) {
		t.Errorf("stream refused: %v, want Unauthenticated", err)
	}
}

// meshWaitPending waits until n requests are in flight on the current stream.
func meshWaitPending(t testing.TB, tr *meshTransport, n int) {
	t.Helper()
	grpcEventually(t, fmt.Sprintf("%d requests in flight", n), func() error {
		if got := tr.pendingCount(); got != n {
			return fmt.Errorf("%d in flight", got)
		}
		return nil
	})
}

// pendingCount is the number of requests in flight on the current stream.
func (m *meshTransport) pendingCount() int {
	m.mu.Lock()
	s := m.cur
	m.mu.Unlock()
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

func grpcTaskOf(ev event) string {
	switch p := ev.resp.GetPayload().(type) {
	case *a2av1.StreamResponse_Task:
		return p.Task.GetId()
	case *a2av1.StreamResponse_StatusUpdate:
		return p.StatusUpdate.GetTaskId()
	case *a2av1.StreamResponse_ArtifactUpdate:
		return p.ArtifactUpdate.GetTaskId()
	}
	return ""
}
