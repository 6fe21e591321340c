package httpserver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/sse"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

type rpcReply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int              `json:"code"`
		Message string           `json:"message"`
		Data    []map[string]any `json:"data"`
	} `json:"error"`
}

func (e *env) rpc(path, body string) (int, rpcReply) {
	e.t.Helper()
	r := e.do("POST", path, body)
	var out rpcReply
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &out); err != nil {
			e.t.Fatalf("reply %s: %v", r.body, err)
		}
	}
	return r.status, out
}

func call(method, id, params string) string {
	if params == "" {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q}`, id, method)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`, id, method, params)
}

func wantRPCError(t *testing.T, status int, r rpcReply, code int, reason a2agrpc.Reason) {
	t.Helper()
	if status != 200 || r.Error == nil {
		t.Fatalf("status %d reply %+v, want a JSON-RPC error %d in HTTP 200", status, r, code)
	}
	if r.Error.Code != code {
		t.Fatalf("code %d (%s), want %d", r.Error.Code, r.Error.Message, code)
	}
	for _, d := range r.Error.Data {
		if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" && d["reason"] == string(reason) && d["domain"] == a2agrpc.ErrorDomain {
			return
		}
	}
	t.Errorf("error data %v lacks ErrorInfo %s", r.Error.Data, reason)
}

func TestJSONRPC_everyMethod(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{httpserver.JSONRPCPath, httpserver.JSONRPCPath + "/"} {
		st, r := e.rpc(path, call("SendMessage", `"req-1"`, sendBody("hello rpc")))
		if st != 200 || string(r.ID) != `"req-1"` || r.Error != nil {
			t.Fatalf("%s SendMessage: %d %+v", path, st, r)
		}
		var resp a2av1.SendMessageResponse
		if err := a2ajson.Unmarshal(r.Result, &resp); err != nil || resp.GetTask().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
			t.Fatalf("result %s: %v", r.Result, err)
		}
		id := resp.GetTask().GetId()
		for _, c := range []struct{ method, params, want string }{
			{"GetTask", fmt.Sprintf(`{"id":%q,"historyLength":0}`, id), `"id"`},
			{"ListTasks", `{"pageSize":1}`, `"nextPageToken"`},
			{"CreateTaskPushNotificationConfig", fmt.Sprintf(`{"taskId":%q,"id":"p","url":"https://hooks.example.com"}`, id), `"url"`},
			{"GetTaskPushNotificationConfig", fmt.Sprintf(`{"taskId":%q,"id":"p"}`, id), `"url"`},
			{"ListTaskPushNotificationConfigs", fmt.Sprintf(`{"taskId":%q}`, id), `"configs"`},
			{"DeleteTaskPushNotificationConfig", fmt.Sprintf(`{"taskId":%q,"id":"p"}`, id), `{}`},
		} {
			st, r := e.rpc(path, call(c.method, "7", c.params))
			if st != 200 || r.Error != nil || string(r.ID) != "7" || !strings.Contains(string(r.Result), c.want) {
				t.Errorf("%s: %d %s %+v", c.method, st, r.Result, r.Error)
			}
		}
		st, r = e.rpc(path, call("CancelTask", "8", fmt.Sprintf(`{"id":%q}`, id)))
		wantRPCError(t, st, r, -32002, a2agrpc.ReasonTaskNotCancelable)
		st, r = e.rpc(path, call("GetExtendedAgentCard", "9", ""))
		wantRPCError(t, st, r, -32004, a2agrpc.ReasonUnsupportedOperation)
	}
}

func TestJSONRPC_errors(t *testing.T) {
	e := newEnv(t, echo.Card(nil))
	p := httpserver.JSONRPCPath
	tests := []struct {
		name, body string
		code       int
		reason     a2agrpc.Reason
		id         string
	}{
		{"parse_error", `{"jsonrpc":"2.0","id":1,`, -32700, a2agrpc.ReasonParseError, "null"},
		{"not_an_object", `"hello"`, -32600, a2agrpc.ReasonInvalidRequest, "null"},
		{"wrong_version", `{"jsonrpc":"1.0","id":2,"method":"GetTask"}`, -32600, a2agrpc.ReasonInvalidRequest, "2"},
		{"no_method", `{"jsonrpc":"2.0","id":3}`, -32600, a2agrpc.ReasonInvalidRequest, "3"},
		{"bad_id", `{"jsonrpc":"2.0","id":{"x":1},"method":"GetTask"}`, -32600, a2agrpc.ReasonInvalidRequest, "null"},
		{"unknown_method", call("message/send", `"a"`, `{}`), -32601, a2agrpc.ReasonMethodNotFound, `"a"`},
		{"wrong_type", call("GetTask", "4", `{"id":"x","historyLength":"many"}`), -32602, a2agrpc.ReasonInvalidParams, "4"},
		{"missing_field", call("SendMessage", "5", `{"message":{"role":"ROLE_USER","parts":[{"text":"x"}]}}`), -32602, a2agrpc.ReasonInvalidParams, "5"},
		{"task_not_found", call("GetTask", "6", `{"id":"nope"}`), -32001, a2agrpc.ReasonTaskNotFound, "6"},
		{"streaming_notification", `{"jsonrpc":"2.0","method":"SendStreamingMessage","params":{}}`, -32600, a2agrpc.ReasonInvalidRequest, "null"},
		{"content_type", call("SendMessage", "7", `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"url":"https://x/a.pdf","mediaType":"application/pdf"}]}}`), -32005, a2agrpc.ReasonContentTypeNotSupported, "7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, r := e.rpc(p, tt.body)
			wantRPCError(t, st, r, tt.code, tt.reason)
			if string(r.ID) != tt.id {
				t.Errorf("id %s, want %s", r.ID, tt.id)
			}
		})
	}
	r := e.do("POST", p, call("GetTask", "1", `{"id":"x"}`), "A2A-Version", "0.3")
	var reply rpcReply
	_ = json.Unmarshal(r.body, &reply)
	wantRPCError(t, r.status, reply, -32009, a2agrpc.ReasonVersionNotSupported)
	if r := e.do("GET", p, ""); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET on the JSON-RPC endpoint: %d", r.status)
	}
	if r := e.do("POST", p, `{"jsonrpc":"2.0","method":"ListTasks"}`); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Errorf("notification answered with %d %s", r.status, r.body)
	}
}

func TestJSONRPC_batch(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("POST", httpserver.JSONRPCPath, "["+call("ListTasks", "1", "{}")+","+call("GetTask", `"two"`, `{"id":"nope"}`)+","+
		`{"jsonrpc":"2.0","method":"ListTasks"}`+","+call("SendStreamingMessage", "3", sendBody("x"))+"]")
	var replies []rpcReply
	if err := json.Unmarshal(r.body, &replies); err != nil || len(replies) != 3 {
		t.Fatalf("batch reply %s: %v", r.body, err)
	}
	if replies[0].Error != nil || string(replies[1].ID) != `"two"` || replies[1].Error.Code != -32001 || replies[2].Error.Code != -32600 {
		t.Errorf("batch replies %s", r.body)
	}
}

func TestJSONRPC_streaming(t *testing.T) {
	e := newEnv(t, nil)
	resp, msgs := e.readSSE("POST", httpserver.JSONRPCPath, call("SendStreamingMessage", `"s1"`, sendBody("abcdef")))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || len(msgs) != 5 {
		t.Fatalf("stream: %d %v, %d events", resp.StatusCode, resp.Header, len(msgs))
	}
	var last a2av1.StreamResponse
	for _, m := range msgs {
		var r rpcReply
		if err := json.Unmarshal(m.Data, &r); err != nil || string(r.ID) != `"s1"` || r.JSONRPC != "2.0" || r.Error != nil {
			t.Fatalf("event %s: %v", m.Data, err)
		}
		if err := a2ajson.Unmarshal(r.Result, &last); err != nil {
			t.Fatal(err)
		}
	}
	if last.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Errorf("last event %v", &last)
	}
	// An immediate failure is still a 200 stream holding one error event.
	resp, msgs = e.readSSE("POST", httpserver.JSONRPCPath, call("SubscribeToTask", "9", `{"id":"nope"}`))
	if resp.StatusCode != 200 || len(msgs) != 1 {
		t.Fatalf("failed subscribe: %d, %d events", resp.StatusCode, len(msgs))
	}
	var r rpcReply
	_ = json.Unmarshal(msgs[0].Data, &r)
	wantRPCError(t, 200, r, -32001, a2agrpc.ReasonTaskNotFound)
}

// JSON-RPC streams carry each event's sequence number as the SSE id, and
// SubscribeToTask resumes after Last-Event-ID, as the REST binding does.
func TestJSONRPC_streamResumption(t *testing.T) {
	e := newEnv(t, nil)
	_, msgs := e.readSSE("POST", httpserver.JSONRPCPath, call("SendStreamingMessage", "1", sendBody("abcdef")))
	if len(msgs) != 5 {
		t.Fatalf("stream of %d events, want 5", len(msgs))
	}
	for i, m := range msgs {
		if m.ID != fmt.Sprint(i+1) {
			t.Errorf("event %d has id %q, want %d", i, m.ID, i+1)
		}
	}

	// A held task: created (event 1), then WORKING (event 2) until canceled.
	held := decode(t, e.do("POST", "/message:send", `{"message":{"messageId":"h","role":"ROLE_USER","parts":[{"text":"hold"}]},"configuration":{"returnImmediately":true}}`), &a2av1.SendMessageResponse{}).GetTask()
	sub := call("SubscribeToTask", "2", fmt.Sprintf(`{"id":%q}`, held.GetId()))
	req, _ := http.NewRequest("POST", e.url+httpserver.JSONRPCPath, strings.NewReader(sub))
	req.Header.Set("Last-Event-ID", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sse.NewReader(resp.Body, 1<<20)
	next := func() (sse.Message, *a2av1.StreamResponse) {
		t.Helper()
		m, err := events.Next()
		if err != nil {
			t.Fatalf("resumed stream: %v", err)
		}
		var r rpcReply
		ev := &a2av1.StreamResponse{}
		if err := json.Unmarshal(m.Data, &r); err != nil || r.Error != nil || a2ajson.Unmarshal(r.Result, ev) != nil {
			t.Fatalf("resumed event %s: %v", m.Data, err)
		}
		return m, ev
	}
	if m, ev := next(); m.ID != "2" || ev.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_WORKING {
		t.Errorf("first event after 1: id %q %v, want id 2 WORKING", m.ID, ev)
	}
	e.do("POST", "/tasks/"+held.GetId()+":cancel", "")
	if m, ev := next(); m.ID != "3" || ev.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Errorf("after cancel: id %q %v, want id 3 CANCELED", m.ID, ev)
	}
	if m, err := events.Next(); err != io.EOF {
		t.Errorf("stream goes on after the task ended: %+v %v", m, err)
	}

	_, msgs = e.readSSE("POST", httpserver.JSONRPCPath, sub, "Last-Event-ID", "soon")
	if len(msgs) != 1 || msgs[0].ID != "" {
		t.Fatalf("invalid Last-Event-ID: %d events %v", len(msgs), msgs)
	}
	var r rpcReply
	_ = json.Unmarshal(msgs[0].Data, &r)
	wantRPCError(t, 200, r, -32602, a2agrpc.ReasonInvalidParams)
}
