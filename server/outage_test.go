package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/taskstore/pgstore"
)

// tcpProxy forwards a loopback port to PostgreSQL and can cut every
// connection and refuse new ones, as a database outage does.
type tcpProxy struct {
	target string
	addr   string

	mu    sync.Mutex
	lis   net.Listener
	conns []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{target: target}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = lis.Addr().String()
	p.serve(lis)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(lis net.Listener) {
	p.mu.Lock()
	p.lis = lis
	p.mu.Unlock()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every forwarded connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lis != nil {
		p.lis.Close()
		p.lis = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same port.
func (p *tcpProxy) restore(t *testing.T) {
	var lis net.Listener
	var err error
	for range 50 { // the port may linger briefly
		if lis, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.serve(lis)
}

// proxiedStore opens a PostgreSQL store in a fresh schema through a
// tcpProxy, with a short connect timeout so calls during a cut fail fast.
// The store closes when the test ends, after the handlers made later.
func proxiedStore(t *testing.T, schemaPrefix string) (*pgstore.Store, *tcpProxy) {
	t.Helper()
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	st, err := pgstore.Open(context.Background(), u.String(), pgstore.WithSchema(pgtest.Schema(t, schemaPrefix)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close) // registered first, so it runs after the handler's Close
	return st, proxy
}

// TestDatabaseOutage cuts the connection to PostgreSQL under a running
// handler: calls fail with UNAVAILABLE (retryable, never INTERNAL), nothing
// crashes, and calls succeed again once the database is back.
func TestDatabaseOutage(t *testing.T) {
	st, proxy := proxiedStore(t, "a2agrpc_outage")
	ctx := context.Background()
	h := newHandler(t, greeter, server.WithTaskStore(st))

	before := mustSend(t, h, ctx, sendReq(""))
	proxy.cut()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err := h.GetTask(cctx, &a2av1.GetTaskRequest{Id: before.GetId()})
	wantReason(t, err, a2agrpc.ReasonUnavailable)
	_, err = h.SendMessage(cctx, sendReq(""))
	wantReason(t, err, a2agrpc.ReasonUnavailable)
	_, err = collect(h.SendStreamingMessage(cctx, sendReq("")))
	wantReason(t, err, a2agrpc.ReasonUnavailable)
	_, err = h.ListTasks(cctx, &a2av1.ListTasksRequest{})
	wantReason(t, err, a2agrpc.ReasonUnavailable)

	proxy.restore(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := h.GetTask(ctx, &a2av1.GetTaskRequest{Id: before.GetId()})
		if err == nil {
			if state(got) != a2av1.TaskState_TASK_STATE_INPUT_REQUIRED {
				t.Errorf("after the outage, task = %v", got)
			}
			break
		}
		var e *a2agrpc.Error
		if !errors.As(err, &e) || e.Reason != a2agrpc.ReasonUnavailable || time.Now().After(deadline) {
			t.Fatalf("after restoring the database: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The accepted task is intact and can continue.
	done := mustSend(t, h, ctx, followUp(before.GetId(), "Ada"))
	if state(done) != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Errorf("follow-up after the outage = %v", done)
	}
}

// TestOutcomeAfterOutage: an agent that finishes while the database is
// unreachable does not leave its task WORKING for ever; the outcome is
// recorded once the database is back.
func TestOutcomeAfterOutage(t *testing.T) {
	st, proxy := proxiedStore(t, "a2agrpc_outcome")
	ctx := context.Background()
	release := make(chan struct{})
	h := newHandler(t, server.ExecutorFunc(func(ctx context.Context, _ *server.Request, w *server.TaskWriter) error {
		if err := w.Working(""); err != nil {
			return err
		}
		select {
		case <-release:
			return nil // completed, while the database is away
		case <-ctx.Done():
			return ctx.Err()
		}
	}), server.WithTaskStore(st))
	req := sendReq("x")
	req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	task := mustSend(t, h, ctx, req)
	waitFor(t, "the task working", func() bool {
		got, err := h.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId()})
		return err == nil && state(got) == a2av1.TaskState_TASK_STATE_WORKING
	})

	proxy.cut()
	close(release)
	time.Sleep(time.Second) // the agent has returned; its outcome cannot be written
	proxy.restore(t)

	var (
		got *a2av1.Task
		err error
	)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err = h.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId()})
		if err == nil && state(got) == a2av1.TaskState_TASK_STATE_COMPLETED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the outage the task is %v (%v), want COMPLETED", got.GetStatus().GetState(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
