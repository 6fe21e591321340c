package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/internal/sse"
)

// TestKillAndRestart kills `a2agrpc serve` (SIGKILL, no shutdown) with one
// task finished and one running, restarts it on the same durable store, and
// checks that the finished task is intact, the running one is failed as
// orphaned, a client resuming its stream with Last-Event-ID gets exactly
// the events it missed and the end, and the push notification that could
// not be delivered before the kill (the webhook was down) is delivered
// after the restart, before the one for the failure.
func TestKillAndRestart(t *testing.T) {
	bin := buildServe(t)
	t.Run("sqlite", func(t *testing.T) {
		testKillAndRestart(t, bin, "sqlite:"+filepath.Join(t.TempDir(), "tasks.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		testKillAndRestart(t, bin, postgresSchema(t))
	})
}

func testKillAndRestart(t *testing.T, bin, store string) {
	args := []string{"serve", "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", store,
		"-runner-lease", "2s", "-push-allow", "127.0.0.1"}
	first := startServe(t, bin, args...)
	hook := newReceiver(t)
	hook.up.Store(false)

	done := new(a2av1.SendMessageResponse)
	postJSON(t, first+"/message:send", `{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"kept"}]}}`, done)
	finished := done.GetTask()
	if finished.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("send = %v, want a completed task", done)
	}

	// A held task: read its stream up to the first event, then kill.
	req, _ := http.NewRequest(http.MethodPost, first+"/message:stream",
		strings.NewReader(`{"message":{"messageId":"m2","role":"ROLE_USER","parts":[{"text":"/hold"}]},`+
			`"configuration":{"taskPushNotificationConfig":{"url":"`+hook.srv.URL+`","token":"t0k"}}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := sse.NewReader(resp.Body, 1<<20).Next()
	if err != nil {
		t.Fatal(err)
	}
	held := new(a2av1.StreamResponse)
	if err := a2ajson.UnmarshalOptions.Unmarshal(ev.Data, held); err != nil {
		t.Fatal(err)
	}
	heldID := held.GetTask().GetId()
	if heldID == "" || ev.ID == "" {
		t.Fatalf("first stream event = id %q %s; want the task with an id", ev.ID, ev.Data)
	}
	// Kill once the webhook has refused the WORKING notification, and the
	// server has had a moment to record the failed attempt.
	select {
	case <-hook.refused:
	case <-time.After(20 * time.Second):
		t.Fatal("the webhook was never called")
	}
	time.Sleep(time.Second)
	killServe(t, first)
	hook.up.Store(true)
	resp.Body.Close()

	second := startServe(t, bin, args...)
	got := new(a2av1.Task)
	getJSON(t, second+"/tasks/"+finished.GetId(), got)
	if got.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED || len(got.GetArtifacts()) != 1 || len(got.GetHistory()) == 0 {
		t.Errorf("finished task after restart = %v; want it completed with its artifact and history", got)
	}

	// Resume the held task's stream where the client left off.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, _ := http.NewRequestWithContext(ctx, http.MethodGet, second+"/tasks/"+heldID+":subscribe", nil)
	sub.Header.Set("Last-Event-ID", ev.ID)
	sresp, err := http.DefaultClient.Do(sub)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	if sresp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(sresp.Body)
		t.Fatalf("resume: %s %s", sresp.Status, b)
	}
	last, _ := strconv.ParseInt(ev.ID, 10, 64)
	r := sse.NewReader(sresp.Body, 1<<20)
	var final *a2av1.StreamResponse
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seq, _ := strconv.ParseInt(m.ID, 10, 64)
		if seq <= last {
			t.Errorf("event %d repeated or out of order (after %d)", seq, last)
		}
		last = seq
		final = new(a2av1.StreamResponse)
		if err := a2ajson.UnmarshalOptions.Unmarshal(m.Data, final); err != nil {
			t.Fatal(err)
		}
	}
	st := final.GetStatusUpdate().GetStatus()
	if st.GetState() != a2av1.TaskState_TASK_STATE_FAILED || !strings.Contains(st.GetMessage().GetParts()[0].GetText(), "interrupted") {
		t.Errorf("resumed stream ended with %v; want the orphaned task FAILED as interrupted", final)
	}

	// The restarted server delivers what the first one could not, in order.
	var states []a2av1.TaskState
	for len(states) < 2 {
		select {
		case s := <-hook.delivered:
			states = append(states, s)
		case <-time.After(45 * time.Second):
			t.Fatalf("webhook got %v after the restart; want WORKING then FAILED", states)
		}
	}
	if states[0] != a2av1.TaskState_TASK_STATE_WORKING || states[1] != a2av1.TaskState_TASK_STATE_FAILED {
		t.Errorf("webhook got %v; want WORKING (queued before the kill) then FAILED", states)
	}
}

// receiver is a push notification webhook on loopback that can be down
// (503) or up.
type receiver struct {
	srv       *httptest.Server
	up        atomic.Bool
	refused   chan struct{}
	delivered chan a2av1.TaskState
}

func newReceiver(t *testing.T) *receiver {
	h := &receiver{refused: make(chan struct{}, 100), delivered: make(chan a2av1.TaskState, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.up.Load() {
			h.refused <- struct{}{}
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("A2A-Notification-Token") != "t0k" {
			t.Errorf("notification without the token: %v", r.Header)
		}
		b, _ := io.ReadAll(r.Body)
		ev := new(a2av1.StreamResponse)
		if err := a2ajson.UnmarshalOptions.Unmarshal(b, ev); err != nil {
			t.Errorf("notification body %s: %v", b, err)
		}
		h.delivered <- ev.GetStatusUpdate().GetStatus().GetState()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// buildServe builds the a2agrpc binary, so a test can kill it for real.
func buildServe(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "a2agrpc")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// servers maps a running server's HTTP base URL to its process.
var servers = map[string]*exec.Cmd{}

// startServe runs the binary and returns its HTTP base URL once it serves.
func startServe(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	httpURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	for lines.Scan() {
		if u := httpURL.FindString(lines.Text()); u != "" {
			go func() {
				for lines.Scan() {
				}
			}()
			servers[u] = cmd
			return u
		}
	}
	_ = cmd.Wait()
	t.Fatalf("a2agrpc serve printed no HTTP address; stderr:\n%s", stderr.String())
	return ""
}

func killServe(t *testing.T, base string) {
	t.Helper()
	cmd := servers[base]
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	delete(servers, base)
}

func postJSON(t *testing.T, url, body string, out proto.Message) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, resp, out)
}

func getJSON(t *testing.T, url string, out proto.Message) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, resp, out)
}

func decodeJSON(t *testing.T, resp *http.Response, out proto.Message) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s", resp.Request.Method, resp.Request.URL, b)
	}
	if err := a2ajson.UnmarshalOptions.Unmarshal(b, out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// postgresSchema returns a store spec for a fresh schema of the test
// PostgreSQL; it skips the test without one.
func postgresSchema(t *testing.T) string {
	t.Helper()
	return pgtest.WithParam(t, pgtest.DSN(t), "search_path", pgtest.Schema(t, "a2agrpc_cmd"))
}
