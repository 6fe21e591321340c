package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

func TestRESTTransport(t *testing.T) {
	transportSuite(t, func(base string, p params) transport { return newREST(base+"/", nil, p) })
}

// recordedRequest is what a fake server saw of one request.
type recordedRequest struct {
	method, path, rawPath, query string
	header                       http.Header
	body                         string
}

// fakeServer answers every request with answer and records it.
type fakeServer struct {
	url string
	mu  sync.Mutex
	got []recordedRequest
}

func startFake(t *testing.T, answer http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.url = listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, recordedRequest{r.Method, r.URL.Path, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), string(b)})
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		answer(w, r)
	}))
	return f
}

func (f *fakeServer) last(t *testing.T) recordedRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("no request reached the server")
	}
	return f.got[len(f.got)-1]
}

// answerJSON answers with status and body as application/json.
func answerJSON(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// answerSSE answers with an event stream made of frames.
func answerSSE(frames ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, f := range frames {
			_, _ = io.WriteString(w, f)
		}
	}
}

// The routes, verbs, query strings and headers of every operation, as the
// HTTP+JSON binding defines them.
func TestRESTWire(t *testing.T) {
	f := startFake(t, answerJSON(200, `{}`))
	tr := newREST(f.url+"/a2a/", nil, testParams("alice"))
	ctx := t.Context()
	after := time.Date(2026, 1, 9, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		name                string
		call                func() error
		method, path, query string
		body                bool
	}{
		{"send", func() error {
			_, err := tr.sendMessage(ctx, &a2av1.SendMessageRequest{Message: textMessage("x")})
			return err
		}, "POST", "/a2a/message:send", "", true},
		{"get", func() error {
			_, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Tenant: "t 1", Id: "id/1", HistoryLength: proto.Int32(0)})
			return err
		}, "GET", "/a2a/t%201/tasks/id%2F1", "historyLength=0", false},
		{"list", func() error {
			_, err := tr.listTasks(ctx, &a2av1.ListTasksRequest{
				Tenant: "acme", ContextId: "c-1", Status: a2av1.TaskState_TASK_STATE_WORKING, PageSize: proto.Int32(50),
				PageToken: "p+q", HistoryLength: proto.Int32(2), StatusTimestampAfter: timestamppb.New(after), IncludeArtifacts: proto.Bool(false),
			})
			return err
		}, "GET", "/a2a/acme/tasks", "contextId=c-1&historyLength=2&includeArtifacts=false&pageSize=50&pageToken=p%2Bq&status=TASK_STATE_WORKING&statusTimestampAfter=2026-01-09T10%3A30%3A00Z", false},
		{"cancel", func() error {
			_, err := tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Id: "t-1"})
			return err
		}, "POST", "/a2a/tasks/t-1:cancel", "", true},
		{"create push", func() error {
			_, err := tr.createPushConfig(ctx, &a2av1.TaskPushNotificationConfig{Tenant: "acme", TaskId: "t-1", Url: "https://h"})
			return err
		}, "POST", "/a2a/acme/tasks/t-1/pushNotificationConfigs", "", true},
		{"get push", func() error {
			_, err := tr.getPushConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: "t-1", Id: "p-1"})
			return err
		}, "GET", "/a2a/tasks/t-1/pushNotificationConfigs/p-1", "", false},
		{"list push", func() error {
			_, err := tr.listPushConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: "t-1", PageSize: 5, PageToken: "n"})
			return err
		}, "GET", "/a2a/tasks/t-1/pushNotificationConfigs", "pageSize=5&pageToken=n", false},
		{"delete push", func() error {
			return tr.deletePushConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{Tenant: "acme", TaskId: "t-1", Id: "p-1"})
		}, "DELETE", "/a2a/acme/tasks/t-1/pushNotificationConfigs/p-1", "", false},
		{"extended card", func() error {
			_, err := tr.getExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{})
			return err
		}, "GET", "/a2a/extendedAgentCard", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			r := f.last(t)
			if r.method != tt.method || r.rawPath != tt.path || r.query != tt.query {
				t.Errorf("%s %s?%s, want %s %s?%s", r.method, r.rawPath, r.query, tt.method, tt.path, tt.query)
			}
			if got := r.header.Get("Accept"); got != a2agrpc.MediaTypeA2AJSON {
				t.Errorf("Accept %q", got)
			}
			if got := r.header.Get("Content-Type"); tt.body != (got == a2agrpc.MediaTypeA2AJSON) {
				t.Errorf("Content-Type %q with a body: %v", got, tt.body)
			}
			if tt.body != (r.body != "") {
				t.Errorf("body %q", r.body)
			}
			if r.header.Get(a2agrpc.HeaderVersion) != "1.0" || r.header.Get(callerHeader) != "alice" || r.header.Get(a2agrpc.HeaderExtensions) != testExtension {
				t.Errorf("service parameters missing: %v", r.header)
			}
		})
	}

	// Streams ask for SSE; a resumption names the last event it got.
	f2 := startFake(t, answerSSE())
	tr = newREST(f2.url, nil, testParams("alice"))
	if _, err := collectStream(tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Tenant: "acme", Id: "t-1"}, 7)); err != nil {
		t.Fatal(err)
	}
	r := f2.last(t)
	if r.method != "GET" || r.path != "/acme/tasks/t-1:subscribe" || r.header.Get("Last-Event-ID") != "7" || r.header.Get("Accept") != a2agrpc.MediaTypeEventStream {
		t.Errorf("subscribe: %s %s %v", r.method, r.path, r.header)
	}
	if _, err := collectStream(tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: "t-1"}, -1)); err != nil {
		t.Fatal(err)
	}
	if r := f2.last(t); r.header.Get("Last-Event-ID") != "" {
		t.Errorf("a fresh subscription sent Last-Event-ID %q", r.header.Get("Last-Event-ID"))
	}
	if _, err := collectStream(tr.sendStreamingMessage(ctx, &a2av1.SendMessageRequest{Message: textMessage("x")})); err != nil {
		t.Fatal(err)
	}
	if r := f2.last(t); r.method != "POST" || r.path != "/message:stream" || !strings.Contains(r.body, `"messageId"`) {
		t.Errorf("send stream: %s %s %s", r.method, r.path, r.body)
	}
}

// Requests missing a path field fail before anything is sent: the path
// would name another route.
func TestRESTMissingPathField(t *testing.T) {
	f := startFake(t, answerJSON(200, `{}`))
	tr := newREST(f.url, nil, params{})
	_, err := tr.getPushConfig(t.Context(), &a2av1.GetTaskPushNotificationConfigRequest{TaskId: "t-1"})
	if e := wantReason(t, err, a2agrpc.ReasonInvalidParams); e.Metadata["field"] != "id" {
		t.Errorf("metadata %v", e.Metadata)
	}
	_, err = collectStream(tr.subscribeToTask(t.Context(), &a2av1.SubscribeToTaskRequest{}, -1))
	wantReason(t, err, a2agrpc.ReasonInvalidParams)
	if len(f.got) != 0 {
		t.Errorf("%d requests sent", len(f.got))
	}
}

// What proxies and broken servers answer still becomes a sensible error.
func TestRESTForeignAnswers(t *testing.T) {
	ctx := t.Context()
	get := func(h http.HandlerFunc) error {
		_, err := newREST(startFake(t, h).url, nil, params{}).getTask(ctx, &a2av1.GetTaskRequest{Id: "t-1"})
		return err
	}
	err := get(answerJSON(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "Content-Type", "text/html"))
	if e := wantReason(t, err, a2agrpc.ReasonUnavailable); !strings.Contains(e.Message, "502 Bad Gateway") {
		t.Errorf("message %q lacks the body", e.Message)
	}
	err = get(answerJSON(429, "slow down", "Content-Type", "text/plain", "Retry-After", "7"))
	if e := wantReason(t, err, a2agrpc.ReasonResourceExhausted); e.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter %v", e.RetryAfter)
	}
	err = get(answerJSON(200, "not json"))
	wantReason(t, err, a2agrpc.ReasonInvalidAgentResponse)

	stream := func(h http.HandlerFunc) ([]event, error) {
		return collectStream(newREST(startFake(t, h).url, nil, params{}).sendStreamingMessage(ctx, &a2av1.SendMessageRequest{}))
	}
	// Events with and without ids, a comment, an event of an unknown
	// kind, and an error sent without "event: error" (as a2a-go reads it).
	evs, err := stream(answerSSE(
		": keep-alive\n\n",
		"id: 4\ndata: {\"task\":{\"id\":\"t\"}}\n\n",
		"data: {\"futureKind\":{}}\n\n",
		"data: {\"statusUpdate\":{\"taskId\":\"t\",\"status\":{\"state\":\"TASK_STATE_WORKING\"}}}\n\n",
		`data: {"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"too slow"}}`+"\n\n",
	))
	if len(evs) != 2 || evs[0].seq != 4 || evs[1].seq != 0 || eventKind(evs[1].resp) != "status:TASK_STATE_WORKING" {
		t.Errorf("events %v", evs)
	}
	wantReason(t, err, a2agrpc.ReasonResourceExhausted)
	_, err = stream(answerSSE("event: error\ndata: {\"error\":{\"code\":404,\"status\":\"NOT_FOUND\",\"message\":\"gone\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"TASK_NOT_FOUND\",\"domain\":\"a2a-protocol.org\"}]}}\n\n"))
	if !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("error event: %v", err)
	}
	_, err = stream(answerSSE("data: {not json\n\n"))
	wantReason(t, err, a2agrpc.ReasonInvalidAgentResponse)
	_, err = stream(answerJSON(200, `{"task":{"id":"t"}}`))
	wantReason(t, err, a2agrpc.ReasonInvalidAgentResponse)
	_, err = stream(answerJSON(503, "upstream down", "Content-Type", "text/plain"))
	wantReason(t, err, a2agrpc.ReasonUnavailable)

	// A connection lost mid-stream is UNAVAILABLE; a stream that just
	// ends is a clean end, whatever state the task is in.
	evs, err = stream(func(w http.ResponseWriter, _ *http.Request) {
		answerSSE("id: 1\ndata: {\"task\":{\"id\":\"t\"}}\n\n")(w, nil)
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // drops the connection without ending the response
	})
	if len(evs) != 1 {
		t.Errorf("%d events before the connection dropped", len(evs))
	}
	wantReason(t, err, a2agrpc.ReasonUnavailable)
	evs, err = stream(answerSSE("id: 1\ndata: {\"task\":{\"id\":\"t\"}}\n\n"))
	if len(evs) != 1 || err != nil {
		t.Errorf("clean end: %d events, %v", len(evs), err)
	}
}

// A caller that leaves a stream closes its response, whatever the server
// would still send.
func TestRESTLeaveEndlessStream(t *testing.T) {
	closed := make(chan struct{})
	f := startFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; ; i++ {
			if _, err := fmt.Fprintf(w, "id: %d\ndata: {\"task\":{\"id\":\"t\"}}\n\n", i); err != nil {
				close(closed)
				return
			}
			if err := http.NewResponseController(w).Flush(); err != nil {
				close(closed)
				return
			}
			select {
			case <-r.Context().Done():
				close(closed)
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	tr := newREST(f.url, nil, params{})
	n := 0
	for ev, err := range tr.subscribeToTask(t.Context(), &a2av1.SubscribeToTaskRequest{Id: "t"}, -1) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; ev.seq != int64(n) || n == 3 {
			break
		}
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server still streams after the caller left")
	}
}

func TestQueryOf(t *testing.T) {
	q, err := queryOf(&a2av1.ListTasksRequest{Tenant: "acme", ContextId: "c", PageSize: proto.Int32(0)}, "tenant")
	if err != nil {
		t.Fatal(err)
	}
	if want := (url.Values{"contextId": {"c"}, "pageSize": {"0"}}); q.Encode() != want.Encode() {
		t.Errorf("query %s, want %s", q.Encode(), want.Encode())
	}
	// Nested and repeated values (no GET request of A2A has any) keep
	// the gateway's dotted and repeated forms.
	q, err = queryOf(&a2av1.SendMessageRequest{Message: &a2av1.Message{MessageId: "m", Extensions: []string{"a", "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := q["message.extensions"]; len(got) != 2 || q.Get("message.messageId") != "m" {
		t.Errorf("nested query %s", q.Encode())
	}
}

func TestRESTBadBaseURL(t *testing.T) {
	_, err := newREST("http://bad host", nil, params{}).getTask(context.Background(), &a2av1.GetTaskRequest{Id: "x"})
	var e *a2agrpc.Error
	if !errors.As(err, &e) {
		t.Fatalf("bad base URL: %v", err)
	}
}
