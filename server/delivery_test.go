package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/webhook"
)

// receiver is a webhook on loopback that records what it is sent. While
// down > 0 it answers 503 and counts down.
type receiver struct {
	srv  *httptest.Server
	down atomic.Int32

	mu     sync.Mutex
	states []a2av1.TaskState
	tokens []string
	auths  []string
	got    chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: make(chan struct{}, 64)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.down.Load() > 0 {
			r.down.Add(-1)
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(req.Body)
		ev := new(a2av1.StreamResponse)
		if err := a2ajson.UnmarshalOptions.Unmarshal(b, ev); err != nil {
			t.Errorf("webhook body %s: %v", b, err)
		}
		r.mu.Lock()
		r.states = append(r.states, ev.GetStatusUpdate().GetStatus().GetState())
		r.tokens = append(r.tokens, req.Header.Get("X-A2A-Notification-Token"))
		r.auths = append(r.auths, req.Header.Get("Authorization"))
		r.mu.Unlock()
		r.got <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// await waits for n notifications and returns the states received.
func (r *receiver) await(t *testing.T, n int) []a2av1.TaskState {
	t.Helper()
	for range n {
		select {
		case <-r.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("webhook got fewer than %d notifications", n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]a2av1.TaskState(nil), r.states...)
}

func loopbackWebhooks(t *testing.T) server.Option {
	p, err := webhook.NewPolicy("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return server.WithWebhooks(webhook.WithPolicy(p), webhook.WithBackoff(10*time.Millisecond, 50*time.Millisecond), webhook.WithPollInterval(50*time.Millisecond))
}

// TestPushDelivery registers a webhook inline with a blocking send: the
// receiver is told of each status change, with the token and credentials.
func TestPushDelivery(t *testing.T) {
	rcv := newReceiver(t)
	h := newHandler(t, greeter, loopbackWebhooks(t))
	req := sendReq("")
	req.Configuration = &a2av1.SendMessageConfiguration{TaskPushNotificationConfig: &a2av1.TaskPushNotificationConfig{
		Url: rcv.srv.URL + "/hook", Token: "secret-token",
		Authentication: &a2av1.AuthenticationInfo{Scheme: "Bearer", Credentials: "cred"},
	}}
	task := mustSend(t, h, context.Background(), req)
	if state(task) != a2av1.TaskState_TASK_STATE_INPUT_REQUIRED {
		t.Fatalf("send = %v", task)
	}
	got := rcv.await(t, 1)
	if got[0] != a2av1.TaskState_TASK_STATE_INPUT_REQUIRED {
		t.Errorf("first notification = %v, want INPUT_REQUIRED", got)
	}
	mustSend(t, h, context.Background(), followUp(task.GetId(), "Ada"))
	got = rcv.await(t, 2)
	if len(got) != 3 || got[1] != a2av1.TaskState_TASK_STATE_WORKING || got[2] != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Errorf("notifications = %v, want INPUT_REQUIRED WORKING COMPLETED", got)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for i := range rcv.tokens {
		if rcv.tokens[i] != "secret-token" || rcv.auths[i] != "Bearer cred" {
			t.Errorf("notification %d: token %q authorization %q", i, rcv.tokens[i], rcv.auths[i])
		}
	}
}

// TestPushDeliveryRetries keeps the receiver down for a few attempts: the
// notification arrives once it is back.
func TestPushDeliveryRetries(t *testing.T) {
	rcv := newReceiver(t)
	rcv.down.Store(3)
	h := newHandler(t, greeter, loopbackWebhooks(t))
	task := mustSend(t, h, context.Background(), sendReq(""))
	if _, err := h.CreateTaskPushNotificationConfig(context.Background(), &a2av1.TaskPushNotificationConfig{
		TaskId: task.GetId(), Url: rcv.srv.URL,
	}); err != nil {
		t.Fatal(err)
	}
	mustSend(t, h, context.Background(), followUp(task.GetId(), "Ada"))
	got := rcv.await(t, 2)
	if len(got) != 2 || got[0] != a2av1.TaskState_TASK_STATE_WORKING || got[1] != a2av1.TaskState_TASK_STATE_COMPLETED || rcv.down.Load() != 0 {
		t.Errorf("after the receiver came back: %v (down=%d)", got, rcv.down.Load())
	}
}

// TestPushTargetRefused: a webhook on an address the policy refuses (here
// loopback, which the default policy does not allow) is rejected when it
// is registered, naming the field.
func TestPushTargetRefused(t *testing.T) {
	h := newHandler(t, greeter)
	req := sendReq("")
	req.Configuration = &a2av1.SendMessageConfiguration{TaskPushNotificationConfig: &a2av1.TaskPushNotificationConfig{Url: "http://127.0.0.1:9/hook"}}
	_, err := h.SendMessage(context.Background(), req)
	e := wantReason(t, err, "INVALID_PARAMS")
	if len(e.Violations) == 0 || e.Violations[0].Field != "configuration.taskPushNotificationConfig.url" {
		t.Errorf("error = %v, want a violation on the url", e)
	}
}
