package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/internal/sse"
)

// errorInfo is an AIP-193 detail naming reason in the A2A domain.
func errorInfo(reason string) string {
	return `{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"` + reason + `","domain":"a2a-protocol.org","metadata":{"taskId":"t-9"}}`
}

func TestHTTPErrorDecoding(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		reason     a2agrpc.Reason
		message    string // a substring of the message
		retryAfter time.Duration
		taskID     string // metadata["taskId"]
	}{
		{"aip193 with ErrorInfo", 404, nil, `{"error":{"code":404,"status":"NOT_FOUND","message":"task not found","details":[` + errorInfo("TASK_NOT_FOUND") + `]}}`,
			a2agrpc.ReasonTaskNotFound, "task not found", 0, "t-9"},
		{"ErrorInfo wins over a shared status", 400, nil, `{"error":{"code":400,"status":"FAILED_PRECONDITION","message":"done already","details":[` + errorInfo("TASK_NOT_CANCELABLE") + `]}}`,
			a2agrpc.ReasonTaskNotCancelable, "done already", 0, "t-9"},
		{"ErrorInfo of another domain is ignored", 404, nil, `{"error":{"code":404,"status":"NOT_FOUND","message":"nope","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"NOPE","domain":"example.com"}]}}`,
			a2agrpc.ReasonTaskNotFound, "nope", 0, ""},
		{"unknown detail types are skipped", 400, nil, `{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad","details":[{"@type":"type.example.com/Unknown","x":1},{"no":"type"},` + errorInfo("INVALID_PARAMS") + `]}}`,
			a2agrpc.ReasonInvalidParams, "bad", 0, "t-9"},
		{"RetryInfo in the body", 429, http.Header{"Retry-After": {"2"}}, `{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"slow down","details":[` + errorInfo("RESOURCE_EXHAUSTED") + `,{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.200s"}]}}`,
			a2agrpc.ReasonResourceExhausted, "slow down", 1200 * time.Millisecond, "t-9"},
		{"Retry-After in seconds", 503, http.Header{"Retry-After": {"5"}}, `{"error":{"code":503,"status":"UNAVAILABLE","message":"draining"}}`,
			a2agrpc.ReasonUnavailable, "draining", 5 * time.Second, ""},
		{"no status name: the HTTP status decides", 403, nil, `{"error":{"code":403,"message":"go away"}}`,
			a2agrpc.ReasonUnauthorized, "go away", 0, ""},
		{"status OK in an error body", 500, nil, `{"error":{"code":200,"status":"OK","message":"confused"}}`,
			a2agrpc.ReasonUnavailable, "confused", 0, ""},
		{"empty message takes the status text", 401, nil, `{"error":{"code":401,"status":"UNAUTHENTICATED"}}`,
			a2agrpc.ReasonUnauthenticated, "Unauthorized", 0, ""},
		{"html 502", 502, nil, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
			a2agrpc.ReasonUnavailable, "HTTP 502 Bad Gateway: <html> <head><title>502 Bad Gateway", 0, ""},
		{"html 504", 504, nil, "<html>timeout</html>", a2agrpc.ReasonUnavailable, "504", 0, ""},
		{"plain 500", 500, nil, "Internal Server Error", a2agrpc.ReasonUnavailable, "Internal Server Error", 0, ""},
		{"plain 429 with a date", 429, http.Header{"Retry-After": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}, "too many",
			a2agrpc.ReasonResourceExhausted, "too many", time.Hour, ""},
		{"plain 401", 401, nil, "", a2agrpc.ReasonUnauthenticated, "HTTP 401 Unauthorized", 0, ""},
		{"plain 403", 403, nil, "forbidden", a2agrpc.ReasonUnauthorized, "forbidden", 0, ""},
		{"404 naming the task", 404, nil, "Task not found: t-1", a2agrpc.ReasonTaskNotFound, "t-1", 0, ""},
		{"404 of a route", 404, nil, "404 page not found", a2agrpc.ReasonMethodNotFound, "page not found", 0, ""},
		{"405", 405, nil, "", a2agrpc.ReasonMethodNotFound, "Method Not Allowed", 0, ""},
		{"other 4xx", 418, nil, "teapot", a2agrpc.ReasonInvalidRequest, "teapot", 0, ""},
		{"a redirect", 302, nil, "", a2agrpc.ReasonInvalidAgentResponse, "302", 0, ""},
		{"json that is not AIP-193", 400, nil, `{"error":"bad thing"}`, a2agrpc.ReasonInvalidRequest, `{"error":"bad thing"}`, 0, ""},
		{"json error without fields", 400, nil, `{"error":{}}`, a2agrpc.ReasonInvalidRequest, `{"error":{}}`, 0, ""},
		{"null", 500, nil, `null`, a2agrpc.ReasonUnavailable, "null", 0, ""},
		{"binary garbage", 502, nil, "\xff\xfe\x00garbage", a2agrpc.ReasonUnavailable, "garbage", 0, ""},
		{"invalid Retry-After", 503, http.Header{"Retry-After": {"soon"}}, "", a2agrpc.ReasonUnavailable, "503", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: tt.header}
			if resp.Header == nil {
				resp.Header = http.Header{}
			}
			err := httpError(resp, []byte(tt.body))
			e := wantReason(t, err, tt.reason)
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q, want it to contain %q", e.Message, tt.message)
			}
			if d := e.RetryAfter - tt.retryAfter; d < -2*time.Second || d > 0 || (tt.retryAfter == 0) != (e.RetryAfter == 0) {
				t.Errorf("RetryAfter %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if e.Metadata["taskId"] != tt.taskID {
				t.Errorf("metadata %v", e.Metadata)
			}
		})
	}
}

func TestSnippetIsShortAndOneLine(t *testing.T) {
	long := strings.Repeat("é", 500) + "\n\ttail"
	s := snippet([]byte(long))
	if len(s) > maxSnippet+len("…") || strings.ContainsAny(s, "\n\t") || !strings.HasSuffix(s, "…") {
		t.Errorf("snippet %q", s)
	}
	if !json.Valid([]byte(`"` + s + `"`)) {
		t.Errorf("snippet %q is not valid UTF-8", s)
	}
}

func TestRPCErrorDecoding(t *testing.T) {
	tests := []struct {
		name, obj string
		reason    a2agrpc.Reason
		message   string
	}{
		{"every A2A code", `{"code":-32002,"message":"m"}`, a2agrpc.ReasonTaskNotCancelable, "m"},
		{"ErrorInfo wins over the code", `{"code":-32603,"message":"m","data":[` + errorInfo("UNAVAILABLE") + `]}`, a2agrpc.ReasonUnavailable, "m"},
		{"BadRequest", `{"code":-32602,"message":"m","data":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"id","description":"missing"}]}]}`, a2agrpc.ReasonInvalidParams, "m"},
		{"v0.3 object data", `{"code":-32001,"message":"m","data":{"taskId":"x"}}`, a2agrpc.ReasonTaskNotFound, "m"},
		{"one detail as an object", `{"code":-32603,"data":` + errorInfo("VERSION_NOT_SUPPORTED") + `}`, a2agrpc.ReasonVersionNotSupported, "protocol version not supported"},
		{"data of the wrong type", `{"code":-32700,"message":"m","data":"text"}`, a2agrpc.ReasonParseError, "m"},
		{"array of junk", `{"code":-32601,"message":"m","data":[1,"x",null,{}]}`, a2agrpc.ReasonMethodNotFound, "m"},
		{"unknown code", `{"code":12345,"message":"m"}`, a2agrpc.ReasonInternal, "m"},
		{"auth codes", `{"code":-31403,"message":"m"}`, a2agrpc.ReasonUnauthorized, "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obj rpcErrorObject
			if err := json.Unmarshal([]byte(tt.obj), &obj); err != nil {
				t.Fatal(err)
			}
			e := rpcError(&obj)
			if e.Reason != tt.reason || e.Message != tt.message {
				t.Errorf("%s %q, want %s %q", e.Reason, e.Message, tt.reason, tt.message)
			}
		})
	}
	var obj rpcErrorObject
	_ = json.Unmarshal([]byte(`{"code":-32602,"message":"m","data":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"id","description":"missing"}]}]}`), &obj)
	if v := rpcError(&obj).Violations; len(v) != 1 || v[0].Field != "id" {
		t.Errorf("violations %v", v)
	}
}

func TestStreamErrorDecoding(t *testing.T) {
	e := streamError([]byte(`{"error":{"code":503,"status":"UNAVAILABLE","message":"server is shutting down","details":[` + errorInfo("UNAVAILABLE") + `]}}`))
	if !errors.Is(e, a2agrpc.ErrUnavailable) || e.Message != "server is shutting down" {
		t.Errorf("error event: %v", e)
	}
	// Without a status name the body's code stands in for the HTTP status.
	if e := streamError([]byte(`{"error":{"code":429,"message":"slow"}}`)); e.Reason != a2agrpc.ReasonResourceExhausted {
		t.Errorf("error event by code: %v", e)
	}
	if e := streamError([]byte(`oops`)); e.Reason != a2agrpc.ReasonInternal || !strings.Contains(e.Message, "oops") {
		t.Errorf("garbage error event: %v", e)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 9, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-3":                            0,
		" 12 ":                          12 * time.Second,
		"99999999999999999999":          0, // not an int64: neither seconds nor a date
		"9223372036854775807":           maxRetryAfterSeconds * time.Second,
		"Fri, 09 Jan 2026 10:00:30 GMT": 30 * time.Second,
		"Fri, 09 Jan 2026 09:00:00 GMT": 0,
		"tomorrow":                      0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", v, got, want)
		}
	}
}

func TestUnreachable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	err := unreachable(ctx, io.ErrUnexpectedEOF)
	if !errors.Is(err, a2agrpc.ErrUnavailable) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("lost connection: %v", err)
	}
	cancel()
	err = unreachable(ctx, io.ErrUnexpectedEOF)
	if !errors.Is(err, context.Canceled) || errors.Is(err, a2agrpc.ErrUnavailable) {
		t.Errorf("after cancel: %v", err)
	}
	decided := a2agrpc.NewError(a2agrpc.ReasonInvalidAgentResponse, "x")
	if err := unreachable(context.Background(), decided); err != decided {
		t.Errorf("an *Error was replaced: %v", err)
	}
}

// FuzzErrorBody feeds arbitrary bytes to every error decoder: whatever a
// server or proxy sends, decoding yields an *a2agrpc.Error and never
// panics.
func FuzzErrorBody(f *testing.F) {
	for _, seed := range []string{
		`{"error":{"code":404,"status":"NOT_FOUND","message":"x","details":[` + errorInfo("TASK_NOT_FOUND") + `]}}`,
		`{"error":{"code":429,"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"99999999999s"}]}}`,
		`{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{}]}]}}`,
		`{"error":{"code":"x"}}`, `{"error":[]}`, `{"error":null}`, `[]`, `"s"`, ``, "<html>502</html>",
		`{"code":-32001,"message":"m","data":[` + errorInfo("X") + `]}`, `{"code":-32001,"data":{"@type":"x"}}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":1}}`, `{"task":{}}`, "\xff\x00",
	} {
		f.Add(500, []byte(seed))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {string(body)}}}
		if err := httpError(resp, body); err == nil || a2agrpc.AsError(err).Reason == "" {
			t.Fatalf("httpError(%d, %q) = %v", status, body, err)
		}
		if e := streamError(body); e == nil || e.Reason == "" {
			t.Fatalf("streamError(%q) = %v", body, e)
		}
		var obj rpcErrorObject
		if json.Unmarshal(body, &obj) == nil {
			if e := rpcError(&obj); e == nil || e.Reason == "" {
				t.Fatalf("rpcError(%q) = %v", body, e)
			}
		}
		_, _ = restEvent(sse.Message{Data: body})
		_, _ = rpcEvent(sse.Message{Data: body}, 1)
		_ = parseRetryAfter(string(body), time.Now())
	})
}
