package webhook

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/timestamppb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/taskstore/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Secrets used by the tests; none of them may ever show up in a log.
const (
	testToken       = "tok-s3cret-7f1c"
	testCredentials = "cred-s3cret-91ab"
	testSecretPath  = "/hooks/path-s3cret-55d2"
)

// loopbackPolicy lets the deliverer reach the tests' own receivers, which
// listen on 127.0.0.1 only.
func loopbackPolicy(t *testing.T) Policy {
	t.Helper()
	p, err := NewPolicy("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// received is one request a receiver got.
type received struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	At     time.Time
}

// receiver is a webhook endpoint on a loopback listener. handle answers
// the n-th request (from 1); nil answers 200.
type receiver struct {
	srv    *httptest.Server
	handle func(n int, w http.ResponseWriter, r *http.Request)

	mu    sync.Mutex
	reqs  []received
	conns int
}

func newReceiver(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{handle: handle}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	rc.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.mu.Lock()
			rc.conns++
			rc.mu.Unlock()
		}
	}
	rc.srv.Start()
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, At: time.Now(),
	})
	n := len(rc.reqs)
	rc.mu.Unlock()
	if rc.handle != nil {
		rc.handle(n, w, r)
	}
}

func (rc *receiver) url(path string) string { return rc.srv.URL + path }

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func (rc *receiver) connections() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.conns
}

// status answers every request with code.
func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// newTask creates a task in s and registers the given push configs for it.
func newTask(t *testing.T, s *taskstore.Memory, id string, cfgs ...*a2av1.TaskPushNotificationConfig) {
	t.Helper()
	ctx := context.Background()
	if err := s.Create(ctx, storetest.NewRecord(id, "ctx-"+id, a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
		t.Fatal(err)
	}
	for _, c := range cfgs {
		c.TaskId = id
		if err := s.PutPushConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
}

// pushEvent logs a status update for task id with Update.Push, which queues
// one delivery per push config, and returns the event and its seq.
func pushEvent(t *testing.T, s *taskstore.Memory, id, text string) (*a2av1.StreamResponse, int64) {
	t.Helper()
	ctx := context.Background()
	rec, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	status := &a2av1.TaskStatus{
		State:     a2av1.TaskState_TASK_STATE_WORKING,
		Timestamp: timestamppb.New(rec.Updated.Add(time.Second)),
		Message: &a2av1.Message{MessageId: text, Role: a2av1.Role_ROLE_AGENT,
			Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: text}}}},
	}
	task := &a2av1.Task{Id: id, ContextId: rec.Task.GetContextId(), Status: status}
	ev := &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_StatusUpdate{StatusUpdate: &a2av1.TaskStatusUpdateEvent{
		TaskId: id, ContextId: task.GetContextId(), Status: status,
	}}}
	seq, err := s.Update(ctx, id, rec.Version, taskstore.Update{Task: task, Event: ev, Push: true})
	if err != nil {
		t.Fatal(err)
	}
	return ev, seq
}

// harness runs a Deliverer for one test and collects its results.
type harness struct {
	d       *Deliverer
	results chan Result
	logs    *lockedBuffer
	stop    func() // cancels Run and waits for it to return
}

// fastOptions keep test wall time small: tight polling and backoff.
func fastOptions(t *testing.T) []Option {
	return []Option{
		WithPolicy(loopbackPolicy(t)),
		WithPollInterval(5 * time.Millisecond),
		WithBackoff(5*time.Millisecond, 50*time.Millisecond),
		WithAttemptTimeout(5 * time.Second),
	}
}

func start(t *testing.T, ob taskstore.Outbox, opts ...Option) *harness {
	t.Helper()
	h := &harness{results: make(chan Result, 4096), logs: &lockedBuffer{}}
	all := append(fastOptions(t),
		WithLogger(slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithOnResult(func(r Result) {
			select {
			case h.results <- r:
			default:
				t.Errorf("result buffer full; dropped %+v", r)
			}
		}))
	h.d = New(ob, append(all, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.d.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context was cancelled")
			}
		})
	}
	t.Cleanup(h.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("deliverer log:\n%s", h.logs.String())
		}
	})
	return h
}

// next waits for the next attempt's result.
func (h *harness) next(t *testing.T) Result {
	t.Helper()
	select {
	case r := <-h.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery result within 10s")
		return Result{}
	}
}

// until waits for results until one satisfies ok, returning all seen.
func (h *harness) until(t *testing.T, ok func(Result) bool) []Result {
	t.Helper()
	var seen []Result
	for {
		r := h.next(t)
		seen = append(seen, r)
		if ok(r) {
			return seen
		}
	}
}

// assertNoneDue checks that the outbox holds nothing due.
func assertNoneDue(t *testing.T, ob taskstore.Outbox) {
	t.Helper()
	got, err := ob.ClaimDeliveries(context.Background(), 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("outbox still holds %d due deliveries: %+v", len(got), got)
	}
}

// lockedBuffer is a log sink safe for concurrent writers and readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
