package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

func TestJSONRPCTransport(t *testing.T) {
	transportSuite(t, func(base string, p params) transport { return newJSONRPC(base+httpserver.JSONRPCPath, nil, p) })
}

// rpcEcho answers every call with an empty result under the call's id.
func rpcEcho(w http.ResponseWriter, r *http.Request) {
	var call struct {
		ID json.RawMessage `json:"id"`
	}
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &call)
	if r.Header.Get("Accept") == a2agrpc.MediaTypeEventStream {
		answerSSE(fmt.Sprintf("id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"task\":{\"id\":\"t\"}}}\n\n", call.ID))(w, r)
		return
	}
	answerJSON(200, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{}}`, call.ID))(w, r)
}

// Every operation is one envelope with its v1.0 method name, a fresh id
// and the request's ProtoJSON as params.
func TestJSONRPCWire(t *testing.T) {
	f := startFake(t, rpcEcho)
	tr := newJSONRPC(f.url+"/rpc", nil, testParams("alice"))
	ctx := t.Context()
	calls := []struct {
		method string
		call   func() error
		params string
	}{
		{"SendMessage", func() error {
			_, err := tr.sendMessage(ctx, &a2av1.SendMessageRequest{Tenant: "acme", Message: &a2av1.Message{MessageId: "m"}})
			return err
		}, `{"tenant":"acme","message":{"messageId":"m"}}`},
		{"GetTask", func() error { _, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: "t"}); return err }, `{"id":"t"}`},
		{"ListTasks", func() error { _, err := tr.listTasks(ctx, &a2av1.ListTasksRequest{ContextId: "c"}); return err }, `{"contextId":"c"}`},
		{"CancelTask", func() error { _, err := tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Id: "t"}); return err }, `{"id":"t"}`},
		{"CreateTaskPushNotificationConfig", func() error {
			_, err := tr.createPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "t", Url: "https://h"})
			return err
		}, `{"taskId":"t","url":"https://h"}`},
		{"GetTaskPushNotificationConfig", func() error {
			_, err := tr.getPushConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: "t", Id: "p"})
			return err
		}, `{"taskId":"t","id":"p"}`},
		{"ListTaskPushNotificationConfigs", func() error {
			_, err := tr.listPushConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: "t"})
			return err
		}, `{"taskId":"t"}`},
		{"DeleteTaskPushNotificationConfig", func() error {
			return tr.deletePushConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: "t", Id: "p"})
		}, `{"taskId":"t","id":"p"}`},
		{"GetExtendedAgentCard", func() error {
			_, err := tr.getExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{})
			return err
		}, `{}`},
		{"SendStreamingMessage", func() error {
			_, err := collectStream(tr.sendStreamingMessage(ctx, &a2av1.SendMessageRequest{Message: &a2av1.Message{MessageId: "m"}}))
			return err
		}, `{"message":{"messageId":"m"}}`},
		{"SubscribeToTask", func() error {
			evs, err := collectStream(tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: "t"}, 7))
			if err == nil && (len(evs) != 1 || evs[0].seq != 1) {
				err = fmt.Errorf("events %v", evs)
			}
			return err
		}, `{"id":"t"}`},
	}
	ids := map[string]bool{}
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		r := f.last(t)
		var env struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Method  string          `json:"method"`
			Params  json.RawMessage `json:"params"`
		}
		if err := json.Unmarshal([]byte(r.body), &env); err != nil {
			t.Fatalf("%s: body %s: %v", c.method, r.body, err)
		}
		var params bytes.Buffer
		_ = json.Compact(&params, env.Params) // ProtoJSON's spacing varies on purpose
		if env.JSONRPC != "2.0" || env.Method != c.method || params.String() != c.params || r.method != "POST" || r.path != "/rpc" {
			t.Errorf("%s: %s %s %s", c.method, r.method, r.path, r.body)
		}
		if ids[string(env.ID)] {
			t.Errorf("%s: id %s used twice", c.method, env.ID)
		}
		ids[string(env.ID)] = true
		if r.header.Get("Content-Type") != a2agrpc.MediaTypeJSON || r.header.Get(a2agrpc.HeaderVersion) != "1.0" || r.header.Get(callerHeader) != "alice" {
			t.Errorf("%s: headers %v", c.method, r.header)
		}
		wantAccept, wantLast := a2agrpc.MediaTypeJSON, ""
		switch c.method {
		case "SubscribeToTask":
			wantAccept, wantLast = a2agrpc.MediaTypeEventStream, "7"
		case "SendStreamingMessage":
			wantAccept = a2agrpc.MediaTypeEventStream
		}
		if r.header.Get("Accept") != wantAccept || r.header.Get("Last-Event-ID") != wantLast {
			t.Errorf("%s: Accept %q, Last-Event-ID %q", c.method, r.header.Get("Accept"), r.header.Get("Last-Event-ID"))
		}
	}
}

// Errors in every place a JSON-RPC server (or a proxy before it) puts
// them.
func TestJSONRPCForeignAnswers(t *testing.T) {
	ctx := t.Context()
	get := func(h http.HandlerFunc) error {
		_, err := newJSONRPC(startFake(t, h).url, nil, params{}).getTask(ctx, &a2av1.GetTaskRequest{Id: "t"})
		return err
	}
	err := get(answerJSON(200, `{"jsonrpc":"2.0","id":999,"result":{"id":"t"}}`))
	wantReason(t, err, a2agrpc.ReasonInvalidAgentResponse)
	err = get(answerJSON(200, `{"jsonrpc":"2.0","id":1}`))
	wantReason(t, err, a2agrpc.ReasonInvalidAgentResponse)
	err = get(answerJSON(200, `{"jsonrpc":"2.0","id":"1","result":{"id":"t"}}`))
	if err != nil {
		t.Errorf("id echoed as a string: %v", err)
	}
	// The server's error, under any id (parse errors are answered with
	// null) and any status (authentication failures come with 401).
	err = get(answerJSON(401, `{"jsonrpc":"2.0","id":null,"error":{"code":-31401,"message":"who are you"}}`, "WWW-Authenticate", "Bearer"))
	if e := wantReason(t, err, a2agrpc.ReasonUnauthenticated); e.Message != "who are you" {
		t.Errorf("message %q", e.Message)
	}
	err = get(answerJSON(200, `{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"busy","data":[`+
		`{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RESOURCE_EXHAUSTED","domain":"a2a-protocol.org","metadata":{"limit":"1"}},`+
		`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2.500s"}]}}`))
	if e := wantReason(t, err, a2agrpc.ReasonResourceExhausted); e.RetryAfter != 2500*time.Millisecond || e.Metadata["limit"] != "1" {
		t.Errorf("error %+v", e)
	}
	err = get(answerJSON(200, `{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"gone","data":{"taskId":"t"}}}`))
	if !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("v0.3-style error: %v", err)
	}
	err = get(answerJSON(503, "<html>maintenance</html>", "Content-Type", "text/html", "Retry-After", "3"))
	if e := wantReason(t, err, a2agrpc.ReasonUnavailable); e.RetryAfter != 3*time.Second || !strings.Contains(e.Message, "maintenance") {
		t.Errorf("error %+v", e)
	}
	err = get(answerJSON(413, `{"error":{"code":413,"status":"INVALID_ARGUMENT","message":"too big","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"INVALID_REQUEST","domain":"a2a-protocol.org"}]}}`))
	wantReason(t, err, a2agrpc.ReasonInvalidRequest)
	err = get(answerJSON(200, `<html>`, "Content-Type", "text/html"))
	wantReason(t, err, a2agrpc.ReasonInvalidAgentResponse)

	// DeleteTaskPushNotificationConfig's Empty may come as null.
	f := startFake(t, answerJSON(200, `{"jsonrpc":"2.0","id":1,"result":null}`))
	if err := newJSONRPC(f.url, nil, params{}).deletePushConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: "t", Id: "p"}); err != nil {
		t.Errorf("delete answered null: %v", err)
	}

	stream := func(h http.HandlerFunc) ([]event, error) {
		return collectStream(newJSONRPC(startFake(t, h).url, nil, params{}).sendStreamingMessage(ctx, &a2av1.SendMessageRequest{}))
	}
	evs, err := stream(answerSSE(
		"id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"task\":{\"id\":\"t\"}}}\n\n",
		"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,\"message\":\"gone\"}}\n\n",
	))
	if len(evs) != 1 || evs[0].seq != 1 || !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("stream ended by an error: %d events, %v", len(evs), err)
	}
	_, err = stream(answerSSE("data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"task\":{\"id\":\"t\"}}}\n\n"))
	wantReason(t, err, a2agrpc.ReasonInvalidAgentResponse)
	_, err = stream(answerSSE("data: [1,2]\n\n"))
	wantReason(t, err, a2agrpc.ReasonInvalidAgentResponse)
	// A stream refused with a plain JSON-RPC answer.
	_, err = stream(answerJSON(200, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no"}}`))
	wantReason(t, err, a2agrpc.ReasonInvalidRequest)
	_, err = stream(answerJSON(200, `{"jsonrpc":"2.0","id":1,"result":{"task":{}}}`))
	wantReason(t, err, a2agrpc.ReasonInvalidAgentResponse)
	_, err = stream(answerJSON(502, `bad gateway`, "Content-Type", "text/plain"))
	wantReason(t, err, a2agrpc.ReasonUnavailable)
}
