package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/sse"
)

// TestReplicasAcrossProcesses runs two `a2agrpc serve` processes on one
// PostgreSQL schema: a task started through replica A is followed over SSE
// through replica B, cancelled through B, and both A's stream of the send
// and B's subscription end with the cancellation.
func TestReplicasAcrossProcesses(t *testing.T) {
	bin := buildServe(t)
	store := postgresSchema(t)
	args := []string{"serve", "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", store}
	a := startServe(t, bin, args...)
	b := startServe(t, bin, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	send, _ := http.NewRequestWithContext(ctx, http.MethodPost, a+"/message:stream",
		strings.NewReader(`{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"/hold"}]}}`))
	sendResp, err := http.DefaultClient.Do(send)
	if err != nil {
		t.Fatal(err)
	}
	defer sendResp.Body.Close()
	onA := sse.NewReader(sendResp.Body, 1<<20)
	first := nextEvent(t, onA)
	id := first.GetTask().GetId()

	sub, _ := http.NewRequestWithContext(ctx, http.MethodGet, b+"/tasks/"+id+":subscribe", nil)
	subResp, err := http.DefaultClient.Do(sub)
	if err != nil {
		t.Fatal(err)
	}
	defer subResp.Body.Close()
	onB := sse.NewReader(subResp.Body, 1<<20)
	if got := nextEvent(t, onB); got.GetTask().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_WORKING {
		t.Fatalf("B's subscription starts with %v, want the WORKING task", got)
	}

	canceled := new(a2av1.Task)
	postJSON(t, b+"/tasks/"+id+":cancel", `{}`, canceled)
	if canceled.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Fatalf("cancel through B = %v", canceled)
	}
	for name, r := range map[string]*sse.Reader{"A's send stream": onA, "B's subscription": onB} {
		last := lastEvent(t, r)
		if last.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
			t.Errorf("%s ended with %v, want the cancellation", name, last)
		}
	}
}

func nextEvent(t *testing.T, r *sse.Reader) *a2av1.StreamResponse {
	t.Helper()
	m, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	ev := new(a2av1.StreamResponse)
	if err := a2ajson.UnmarshalOptions.Unmarshal(m.Data, ev); err != nil {
		t.Fatalf("event %s: %v", m.Data, err)
	}
	return ev
}

// lastEvent reads a stream to its end and returns its last event.
func lastEvent(t *testing.T, r *sse.Reader) *a2av1.StreamResponse {
	t.Helper()
	var last *a2av1.StreamResponse
	for {
		m, err := r.Next()
		if err == io.EOF {
			return last
		}
		if err != nil {
			t.Fatal(err)
		}
		last = new(a2av1.StreamResponse)
		if err := a2ajson.UnmarshalOptions.Unmarshal(m.Data, last); err != nil {
			t.Fatalf("event %s: %v", m.Data, err)
		}
	}
}
