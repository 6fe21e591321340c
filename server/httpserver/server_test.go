package httpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/sse"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// agent: "echo ..." echoes; "ask" needs input; "hold" works until cancelled.
var agent = server.ExecutorFunc(func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	switch req.Text() {
	case "ask":
		return w.RequireInput("more?")
	case "hold":
		_ = w.Working("holding")
		<-ctx.Done()
		return context.Cause(ctx)
	}
	return echo.Executor(ctx, req, w)
})

type env struct {
	t   *testing.T
	url string
	h   *server.Handler
}

func newEnv(t *testing.T, card *a2av1.AgentCard, opts ...httpserver.Option) *env {
	t.Helper()
	if card == nil {
		card = echo.Card(nil)
	}
	h, err := server.NewHandler(agent, server.WithAgentCard(card))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := httpserver.New(h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hs)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = h.Close(ctx)
	})
	return &env{t: t, url: ts.URL, h: h}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(method, path, body string, headers ...string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

func sendBody(text string) string {
	return fmt.Sprintf(`{"message":{"messageId":"m-%d","role":"ROLE_USER","parts":[{"text":%q}]}}`, time.Now().UnixNano(), text)
}

func decode[T proto.Message](t *testing.T, r reply, m T) T {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := a2ajson.Unmarshal(r.body, m); err != nil {
		t.Fatalf("%v in %s", err, r.body)
	}
	return m
}

// wantError checks the AIP-193 body of an error response.
func wantError(t *testing.T, r reply, status int, reason a2agrpc.Reason) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	var body struct {
		Error struct {
			Code    int              `json:"code"`
			Status  string           `json:"status"`
			Message string           `json:"message"`
			Details []map[string]any `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if body.Error.Code != status || body.Error.Status == "" || body.Error.Message == "" {
		t.Errorf("error body %s", r.body)
	}
	for _, d := range body.Error.Details {
		if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			if d["reason"] != string(reason) || d["domain"] != a2agrpc.ErrorDomain {
				t.Errorf("ErrorInfo %v, want reason %s", d, reason)
			}
			return d
		}
	}
	t.Fatalf("no ErrorInfo in %s", r.body)
	return nil
}

func TestREST_everyRoute(t *testing.T) {
	e := newEnv(t, nil)
	for _, prefix := range []string{"", "/acme"} {
		t.Run("tenant="+prefix, func(t *testing.T) {
			r := e.do("POST", prefix+"/message:send", sendBody("hello rest"), "A2A-Version", "1.0", "Content-Type", a2agrpc.MediaTypeA2AJSON)
			if ct := r.header.Get("Content-Type"); ct != a2agrpc.MediaTypeA2AJSON {
				t.Errorf("success Content-Type %q, want %s for an %s request", ct, a2agrpc.MediaTypeA2AJSON, a2agrpc.MediaTypeA2AJSON)
			}
			task := decode(t, r, &a2av1.SendMessageResponse{}).GetTask()
			if task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
				t.Fatalf("send: %v", task)
			}
			id := task.GetId()
			got := decode(t, e.do("GET", prefix+"/tasks/"+id+"?historyLength=0", ""), &a2av1.Task{})
			if got.GetId() != id || got.History != nil {
				t.Errorf("get: %v", got)
			}
			// Tasks are scoped to their tenant.
			other := "/acme"
			if prefix == "/acme" {
				other = ""
			}
			wantError(t, e.do("GET", other+"/tasks/"+id, ""), 404, a2agrpc.ReasonTaskNotFound)

			list := e.do("GET", prefix+"/tasks?pageSize=1&status=TASK_STATE_COMPLETED", "")
			var raw map[string]any
			if err := json.Unmarshal(list.body, &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"tasks", "nextPageToken", "pageSize", "totalSize"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("ListTasksResponse lacks %q: %s", k, list.body)
				}
			}
			if strings.Contains(string(list.body), `"artifacts"`) {
				t.Errorf("artifacts listed without includeArtifacts: %s", list.body)
			}
			if !strings.Contains(string(e.do("GET", prefix+"/tasks?includeArtifacts=true", "").body), `"artifacts"`) {
				t.Error("includeArtifacts=true lists no artifacts")
			}

			cfg := decode(t, e.do("POST", prefix+"/tasks/"+id+"/pushNotificationConfigs", `{"url":"https://hooks.example.com/x"}`), &a2av1.TaskPushNotificationConfig{})
			if cfg.GetId() == "" || cfg.GetTaskId() != id {
				t.Fatalf("create push config: %v", cfg)
			}
			decode(t, e.do("GET", prefix+"/tasks/"+id+"/pushNotificationConfigs/"+cfg.GetId(), ""), &a2av1.TaskPushNotificationConfig{})
			pl := decode(t, e.do("GET", prefix+"/tasks/"+id+"/pushNotificationConfigs", ""), &a2av1.ListTaskPushNotificationConfigsResponse{})
			if len(pl.GetConfigs()) != 1 {
				t.Errorf("list push configs: %v", pl)
			}
			if r := e.do("DELETE", prefix+"/tasks/"+id+"/pushNotificationConfigs/"+cfg.GetId(), ""); r.status != 200 {
				t.Errorf("delete push config: %d %s", r.status, r.body)
			}

			held := decode(t, e.do("POST", prefix+"/message:send", `{"message":{"messageId":"h","role":"ROLE_USER","parts":[{"text":"hold"}]},"configuration":{"returnImmediately":true}}`), &a2av1.SendMessageResponse{}).GetTask()
			// Some clients send POST :cancel without a body.
			canceled := decode(t, e.do("POST", prefix+"/tasks/"+held.GetId()+":cancel", ""), &a2av1.Task{})
			if canceled.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
				t.Errorf("cancel: %v", canceled)
			}
			wantError(t, e.do("POST", prefix+"/tasks/"+held.GetId()+":cancel", "{}"), 400, a2agrpc.ReasonTaskNotCancelable)
			wantError(t, e.do("GET", prefix+"/extendedAgentCard", ""), 400, a2agrpc.ReasonUnsupportedOperation)
		})
	}
}

func TestREST_serviceParameters(t *testing.T) {
	const ext = "https://example.com/ext/v1"
	e := newEnv(t, echo.Card(nil, &a2av1.AgentExtension{Uri: ext}))
	r := e.do("POST", "/message:send", sendBody("x"), "A2A-Extensions", ext+", https://unknown")
	if r.status != 200 || r.header.Get("A2A-Extensions") != ext {
		t.Errorf("A2A-Extensions response header %q (status %d)", r.header.Get("A2A-Extensions"), r.status)
	}
	wantError(t, e.do("POST", "/message:send", sendBody("x"), "A2A-Version", "0.3"), 400, a2agrpc.ReasonVersionNotSupported)
	wantError(t, e.do("GET", "/tasks?A2A-Version=2.0", ""), 400, a2agrpc.ReasonVersionNotSupported)
	if r := e.do("GET", "/tasks?A2A-Version=1.0", ""); r.status != 200 {
		t.Errorf("A2A-Version=1.0 as query parameter: %d %s", r.status, r.body)
	}
}

func TestREST_badInput(t *testing.T) {
	e := newEnv(t, nil, httpserver.WithMaxBody(1024))
	wantError(t, e.do("POST", "/message:send", `{"message":`), 400, a2agrpc.ReasonParseError)
	wantError(t, e.do("POST", "/message:send", `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"x"}]},"configuration":{"historyLength":"lots"}}`), 400, a2agrpc.ReasonInvalidParams)
	if r := e.do("POST", "/message:send", `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"x"}]},"configuration":{"historyLength":"lots"}}`); !strings.Contains(string(r.body), "historyLength") {
		t.Errorf("wrong-type error does not name the field: %s", r.body)
	}
	missing := wantError(t, e.do("POST", "/message:send", `{"message":{"role":"ROLE_USER","parts":[{"text":"x"}]}}`), 400, a2agrpc.ReasonInvalidParams)
	if md, _ := missing["metadata"].(map[string]any); md["field"] != "message.messageId" {
		t.Errorf("missing messageId: metadata %v", missing["metadata"])
	}
	wantError(t, e.do("POST", "/message:send", `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"`+strings.Repeat("x", 2048)+`"}]}}`), 413, a2agrpc.ReasonInvalidRequest)
	wantError(t, e.do("DELETE", "/message:send", ""), 405, a2agrpc.ReasonMethodNotFound)
	wantError(t, e.do("GET", "/no/such/route/here", ""), 404, a2agrpc.ReasonMethodNotFound)
	wantError(t, e.do("GET", "/tasks?pageSize=500", ""), 400, a2agrpc.ReasonInvalidParams)
	// Unknown fields (v0.3 leftovers) are ignored.
	if r := e.do("POST", "/message:send", `{"message":{"kind":"message","messageId":"m","role":"ROLE_USER","parts":[{"text":"x"}]}}`); r.status != 200 {
		t.Errorf("unknown field rejected: %d %s", r.status, r.body)
	}
	// None of this disturbed the server.
	if r := e.do("POST", "/message:send", sendBody("still fine")); r.status != 200 {
		t.Errorf("after bad input: %d %s", r.status, r.body)
	}
}

// readSSE opens a stream and parses it with a real SSE parser.
func (e *env) readSSE(method, path, body string, headers ...string) (*http.Response, []sse.Message) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp, nil
	}
	r := sse.NewReader(resp.Body, 1<<20)
	var out []sse.Message
	for {
		m, err := r.Next()
		if err != nil {
			break
		}
		out = append(out, m)
	}
	return resp, out
}

func kinds(t *testing.T, msgs []sse.Message) string {
	t.Helper()
	var s []string
	for _, m := range msgs {
		var ev a2av1.StreamResponse
		if err := a2ajson.Unmarshal(m.Data, &ev); err != nil {
			t.Fatalf("event %q: %v", m.Data, err)
		}
		switch p := ev.GetPayload().(type) {
		case *a2av1.StreamResponse_Task:
			s = append(s, "task")
		case *a2av1.StreamResponse_ArtifactUpdate:
			s = append(s, "artifact")
		case *a2av1.StreamResponse_StatusUpdate:
			s = append(s, "status:"+p.StatusUpdate.GetStatus().GetState().String())
		case *a2av1.StreamResponse_Message:
			s = append(s, "message")
		}
	}
	return strings.Join(s, " ")
}

func TestSSE(t *testing.T) {
	e := newEnv(t, nil)
	for _, prefix := range []string{"", "/acme"} {
		resp, msgs := e.readSSE("POST", prefix+"/message:stream", sendBody("abcdef"))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("stream response %d %v", resp.StatusCode, resp.Header)
		}
		if got := kinds(t, msgs); got != "task artifact artifact artifact status:TASK_STATE_COMPLETED" {
			t.Errorf("stream = %s", got)
		}
		for i, m := range msgs {
			if m.ID != fmt.Sprint(i+1) {
				t.Errorf("event %d has id %q", i, m.ID)
			}
		}
	}
	// Errors before the first event are plain HTTP errors.
	resp, _ := e.readSSE("POST", "/message:stream", `{"message":{}}`)
	b, _ := io.ReadAll(resp.Body)
	wantError(t, reply{resp.StatusCode, resp.Header, b}, 400, a2agrpc.ReasonInvalidParams)

	// Subscribe with GET and with POST (empty body and {}), then resume.
	held := decode(t, e.do("POST", "/message:send", `{"message":{"messageId":"h","role":"ROLE_USER","parts":[{"text":"hold"}]},"configuration":{"returnImmediately":true}}`), &a2av1.SendMessageResponse{}).GetTask()
	done := make(chan string, 3)
	attached := make(chan struct{}, 3)
	for _, v := range []struct{ method, body string }{{"GET", ""}, {"POST", ""}, {"POST", "{}"}} {
		go func() {
			req, _ := http.NewRequest(v.method, e.url+"/tasks/"+held.GetId()+":subscribe", strings.NewReader(v.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- err.Error()
				attached <- struct{}{}
				return
			}
			defer resp.Body.Close()
			r := sse.NewReader(resp.Body, 1<<20)
			var msgs []sse.Message
			for {
				m, err := r.Next()
				if err != nil {
					break
				}
				if len(msgs) == 0 {
					attached <- struct{}{} // the current task arrived: subscribed
				}
				msgs = append(msgs, m)
			}
			done <- v.method + " " + kinds(t, msgs)
		}()
	}
	for range 3 {
		<-attached
	}
	e.do("POST", "/tasks/"+held.GetId()+":cancel", "")
	for range 3 {
		// The task first (SUBMITTED or already WORKING, depending on when
		// the agent's first write lands), then the cancellation ends it.
		got := <-done
		_, events, _ := strings.Cut(got, " ")
		if !strings.HasPrefix(events, "task ") || !strings.HasSuffix(events, " status:TASK_STATE_CANCELED") {
			t.Errorf("subscription = %s", got)
		}
	}
	_, msgs := e.readSSE("GET", "/tasks/"+held.GetId()+":subscribe", "", "Last-Event-ID", "1")
	if got := kinds(t, msgs); got != "task" {
		t.Errorf("resuming an ended task = %s, want its final state", got)
	}
	resp, _ = e.readSSE("GET", "/tasks/"+held.GetId()+":subscribe", "")
	b, _ = io.ReadAll(resp.Body)
	wantError(t, reply{resp.StatusCode, resp.Header, b}, 400, a2agrpc.ReasonUnsupportedOperation)
}

func TestAgentCard(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("GET", httpserver.WellKnownCardPath, "")
	card := decode(t, r, &a2av1.AgentCard{})
	if card.GetName() != "a2agrpc echo" || r.header.Get("ETag") == "" || !strings.Contains(r.header.Get("Cache-Control"), "max-age") || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("card %v, headers %v", card.GetName(), r.header)
	}
	var raw map[string]any
	_ = json.Unmarshal(r.body, &raw)
	for _, v03 := range []string{"url", "preferredTransport", "protocolVersion", "additionalInterfaces", "supportsAuthenticatedExtendedCard"} {
		if _, ok := raw[v03]; ok {
			t.Errorf("card has the v0.3-only field %q", v03)
		}
	}
	if r2 := e.do("GET", httpserver.WellKnownCardPath, "", "If-None-Match", r.header.Get("ETag")); r2.status != http.StatusNotModified || len(r2.body) != 0 {
		t.Errorf("If-None-Match: %d %q", r2.status, r2.body)
	}
	if r2 := e.do("GET", httpserver.WellKnownCardPath, "", "If-None-Match", "W/"+r.header.Get("ETag")); r2.status != http.StatusNotModified {
		t.Errorf("weak If-None-Match: %d", r2.status)
	}
	if r3 := e.do("OPTIONS", httpserver.WellKnownCardPath, ""); r3.status != http.StatusNoContent || r3.header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("CORS preflight: %d %v", r3.status, r3.header)
	}
	wantError(t, e.do("POST", httpserver.WellKnownCardPath, "{}"), 405, a2agrpc.ReasonMethodNotFound)
}

func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("GET", httpserver.OpenAPIPath, "")
	var doc struct {
		Swagger string                    `json:"swagger"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &doc) != nil || doc.Swagger != "2.0" {
		t.Fatalf("OpenAPI: %d %.200s", r.status, r.body)
	}
	for path, verbs := range map[string][]string{"/message:send": {"post"}, "/tasks/{id}:subscribe": {"get", "post"}, "/{tenant}/tasks": {"get"}} {
		for _, v := range verbs {
			if _, ok := doc.Paths[path][v]; !ok {
				t.Errorf("OpenAPI lacks %s %s", v, path)
			}
		}
	}
}

func TestDrainEndsSubscriptions(t *testing.T) {
	h, err := server.NewHandler(agent, server.WithAgentCard(echo.Card(nil)))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := httpserver.New(h)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hs)
	defer ts.Close()
	e := &env{t: t, url: ts.URL, h: h}
	held := decode(t, e.do("POST", "/message:send", `{"message":{"messageId":"h","role":"ROLE_USER","parts":[{"text":"hold"}]},"configuration":{"returnImmediately":true}}`), &a2av1.SendMessageResponse{}).GetTask()
	resp, err := http.Get(ts.URL + "/tasks/" + held.GetId() + ":subscribe")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := sse.NewReader(resp.Body, 1<<20)
	if m, err := r.Next(); err != nil || m.Event != "" {
		t.Fatalf("first event %+v, %v", m, err)
	}
	hs.Drain()
	m, err := r.Next()
	if err != nil || m.Event != "error" || !strings.Contains(string(m.Data), `"UNAVAILABLE"`) {
		t.Fatalf("after Drain: %+v %s, %v", m, m.Data, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = h.Close(ctx)
}
