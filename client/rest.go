package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/sse"
)

// Size limits on what a server sends. They are far above any sane A2A
// response (the server's own request limit is 4 MiB) and only keep a
// misbehaving server from making the client buffer without bound.
const (
	maxResponseBody = 64 << 20
	maxEventSize    = 64 << 20
	// maxErrorBody is how much of an error response is read: an AIP-193
	// body is small, and of anything else only a snippet is quoted.
	maxErrorBody = 64 << 10
)

// restTransport speaks the HTTP+JSON binding: the routes of the
// google.api.http annotations in a2a.proto, ProtoJSON bodies, GET
// parameters in the query string, and SSE for the two streams.
type restTransport struct {
	base string // the interface URL without a trailing slash
	hc   *http.Client
	p    params
}

// newREST returns the HTTP+JSON transport of the interface at baseURL; the
// routes are appended to its path. hc nil means http.DefaultClient.
func newREST(baseURL string, hc *http.Client, p params) transport {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &restTransport{base: strings.TrimRight(baseURL, "/"), hc: hc, p: p}
}

func (t *restTransport) sendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	out := &a2av1.SendMessageResponse{}
	return out, t.post(ctx, restPath(req.GetTenant(), "/message:send"), req, out)
}

func (t *restTransport) sendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) stream {
	return t.stream(ctx, http.MethodPost, restPath(req.GetTenant(), "/message:stream"), req, -1)
}

func (t *restTransport) getTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error) {
	out := &a2av1.Task{}
	return out, t.get(ctx, restPath(req.GetTenant(), "/tasks/%s", pathParam{"id", req.GetId()}), req, out)
}

func (t *restTransport) listTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error) {
	out := &a2av1.ListTasksResponse{}
	return out, t.get(ctx, restPath(req.GetTenant(), "/tasks"), req, out)
}

func (t *restTransport) cancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error) {
	out := &a2av1.Task{}
	return out, t.post(ctx, restPath(req.GetTenant(), "/tasks/%s:cancel", pathParam{"id", req.GetId()}), req, out)
}

// subscribeToTask uses GET, the verb of the schema's annotation; a2agrpc's
// server also accepts the POST that the specification's prose shows.
func (t *restTransport) subscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest, after int64) stream {
	return t.stream(ctx, http.MethodGet, restPath(req.GetTenant(), "/tasks/%s:subscribe", pathParam{"id", req.GetId()}), nil, after)
}

func (t *restTransport) createPushConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	out := &a2av1.TaskPushNotificationConfig{}
	return out, t.post(ctx, restPath(req.GetTenant(), "/tasks/%s/pushNotificationConfigs", pathParam{"taskId", req.GetTaskId()}), req, out)
}

func (t *restTransport) getPushConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error) {
	out := &a2av1.TaskPushNotificationConfig{}
	path := restPath(req.GetTenant(), "/tasks/%s/pushNotificationConfigs/%s", pathParam{"taskId", req.GetTaskId()}, pathParam{"id", req.GetId()})
	return out, t.get(ctx, path, req, out)
}

func (t *restTransport) listPushConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
	out := &a2av1.ListTaskPushNotificationConfigsResponse{}
	return out, t.get(ctx, restPath(req.GetTenant(), "/tasks/%s/pushNotificationConfigs", pathParam{"taskId", req.GetTaskId()}), req, out)
}

func (t *restTransport) deletePushConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) error {
	path := restPath(req.GetTenant(), "/tasks/%s/pushNotificationConfigs/%s", pathParam{"taskId", req.GetTaskId()}, pathParam{"id", req.GetId()})
	return t.unary(ctx, http.MethodDelete, path, req, nil)
}

func (t *restTransport) getExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error) {
	out := &a2av1.AgentCard{}
	return out, t.get(ctx, restPath(req.GetTenant(), "/extendedAgentCard"), req, out)
}

// close releases nothing: the HTTP client's connections belong to whoever
// made the client.
func (t *restTransport) close() error { return nil }

// route is an operation's path, or why it cannot be built.
type route struct {
	path string
	// fields are the JSON names of the request fields the path carries,
	// which the query string must not repeat.
	fields []string
	err    error
}

// pathParam is one request field that goes into the path.
type pathParam struct{ field, value string }

// restPath builds an operation's path from pattern, whose %s verbs take
// the params' values, each escaped as one path segment; a tenant adds its
// /{tenant} prefix. A missing value is the caller's error, reported before
// anything is sent: the path would otherwise name another route.
func restPath(tenant, pattern string, params ...pathParam) route {
	r := route{fields: []string{"tenant"}}
	values := make([]any, len(params))
	for i, p := range params {
		if p.value == "" {
			r.err = a2agrpc.InvalidParams(p.field, "is required")
			return r
		}
		values[i] = url.PathEscape(p.value)
		r.fields = append(r.fields, p.field)
	}
	if tenant != "" {
		r.path = "/" + url.PathEscape(tenant)
	}
	r.path += fmt.Sprintf(pattern, values...)
	return r
}

// post calls a route whose body is the whole request (body: "*").
func (t *restTransport) post(ctx context.Context, r route, req, out proto.Message) error {
	return t.unary(ctx, http.MethodPost, r, req, out)
}

// get calls a route without a body; the request's fields that are not in
// the path go in the query string.
func (t *restTransport) get(ctx context.Context, r route, req, out proto.Message) error {
	return t.unary(ctx, http.MethodGet, r, req, out)
}

// unary performs one call and decodes its result into out (nil: the result
// is ignored, as DeleteTaskPushNotificationConfig's Empty is).
func (t *restTransport) unary(ctx context.Context, method string, r route, req, out proto.Message) error {
	hreq, err := t.request(ctx, method, r, req, a2agrpc.MediaTypeA2AJSON)
	if err != nil {
		return err
	}
	resp, body, err := exchange(ctx, t.hc, hreq)
	if err != nil {
		return err
	}
	if !successful(resp) {
		return httpError(resp, body)
	}
	if out == nil {
		return nil
	}
	return decodeResult(body, out)
}

// exchange sends req and reads the whole (bounded) answer; a failure to
// get it is ReasonUnavailable, or the context's error.
func exchange(ctx context.Context, hc *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, unreachable(ctx, err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return nil, nil, unreachable(ctx, err)
	}
	return resp, body, nil
}

// stream opens a streaming route; after >= 0 asks to resume after that
// event (Last-Event-ID).
func (t *restTransport) stream(ctx context.Context, method string, r route, req proto.Message, after int64) stream {
	return func(yield func(event, error) bool) {
		hreq, err := t.request(ctx, method, r, req, a2agrpc.MediaTypeEventStream)
		if err != nil {
			yield(event{}, err)
			return
		}
		if after >= 0 {
			hreq.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
		}
		readStream(ctx, t.hc, hreq, restRefusal, restEvent, yield)
	}
}

// request builds the HTTP request of a call: the body is req's ProtoJSON
// for POST, the query string its fields outside the path otherwise.
func (t *restTransport) request(ctx context.Context, method string, r route, req proto.Message, accept string) (*http.Request, error) {
	if r.err != nil {
		return nil, r.err
	}
	target := t.base + r.path
	var body []byte
	switch {
	case req == nil:
	case method == http.MethodPost:
		b, err := a2ajson.Marshal(req)
		if err != nil {
			return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidParams, "client: encoding the request: %v", err)
		}
		body = b
	default:
		q, err := queryOf(req, r.fields...)
		if err != nil {
			return nil, err
		}
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
	}
	return newHTTPRequest(ctx, t.p, method, target, body, a2agrpc.MediaTypeA2AJSON, accept)
}

// queryOf encodes m's fields as query parameters, by their ProtoJSON
// (camelCase) names and in their ProtoJSON form, which is what the gateway
// reads: enums by name, timestamps in RFC 3339, repeated fields as repeated
// keys. Fields named in inPath are left out.
func queryOf(m proto.Message, inPath ...string) (url.Values, error) {
	raw, err := a2ajson.Marshal(m)
	if err != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidParams, "client: encoding the request: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers as written
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInternal, "client: encoding the request: %v", err)
	}
	q := url.Values{}
	for k, v := range fields {
		if !slices.Contains(inPath, k) {
			addQuery(q, k, v)
		}
	}
	return q, nil
}

// addQuery adds one JSON value under key; nested objects use the dotted
// paths the gateway understands (no request of this schema has any on a
// GET route, but they must not vanish silently).
func addQuery(q url.Values, key string, v any) {
	switch v := v.(type) {
	case string:
		q.Add(key, v)
	case json.Number:
		q.Add(key, v.String())
	case bool:
		q.Add(key, strconv.FormatBool(v))
	case []any:
		for _, item := range v {
			addQuery(q, key, item)
		}
	case map[string]any:
		for k, item := range v {
			addQuery(q, key+"."+k, item)
		}
	}
}

// restRefusal decodes the answer of a stream the server refused: an
// error status with its AIP-193 body. A success that is not a stream is
// left to readStream's generic complaint.
func restRefusal(resp *http.Response, body []byte) error {
	if successful(resp) {
		return nil
	}
	return httpError(resp, body)
}

// restEvent decodes one event of a REST stream: a bare StreamResponse, or
// an "event: error" whose data is an AIP-193 body. Some servers send that
// body without the event name, so an event that decodes to no payload is
// checked for one; an event that is neither is of a kind this client does
// not know and is skipped.
func restEvent(m sse.Message) (*a2av1.StreamResponse, error) {
	if m.Event == "error" {
		return nil, streamError(m.Data)
	}
	out := &a2av1.StreamResponse{}
	if err := decodeResult(m.Data, out); err != nil {
		return nil, err
	}
	if out.GetPayload() == nil {
		if e := decodeStatusBody(0, m.Data); e != nil {
			return nil, e
		}
		return nil, nil
	}
	return out, nil
}

// newHTTPRequest builds a request with the call's service parameters and
// the binding's media types. The binding's own headers are set last: the
// wire format is not the caller's to change.
func newHTTPRequest(ctx context.Context, p params, method, target string, body []byte, contentType, accept string) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidRequest, "client: %v", err).WithCause(err)
	}
	if p.headers != nil {
		h, err := p.headers(ctx)
		if err != nil {
			return nil, a2agrpc.AsError(err)
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	return req, nil
}

// readBody reads a response body up to its limit: a success body larger
// than maxResponseBody is refused, an error body is just cut short (only
// its start is of use).
func readBody(resp *http.Response) ([]byte, error) {
	limit := int64(maxErrorBody)
	if successful(resp) {
		limit = maxResponseBody
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		if successful(resp) {
			return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "a response larger than %d bytes", limit)
		}
		b = b[:limit]
	}
	return b, nil
}

// successful reports a 2xx status. A2A answers 200 to every success, but
// nothing is gained by refusing a 201 or 204.
func successful(resp *http.Response) bool { return resp.StatusCode >= 200 && resp.StatusCode < 300 }

// decodeResult decodes a success body; one that is not the expected
// message means the agent broke the protocol.
func decodeResult(body []byte, out proto.Message) error {
	if err := a2ajson.Unmarshal(body, out); err != nil {
		return a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "undecodable %s: %v",
			out.ProtoReflect().Descriptor().Name(), err).WithCause(err)
	}
	return nil
}

// readStream performs a streaming request and yields its events until the
// stream ends, the caller stops, or an error (yielded last) ends it.
// refuse decodes a response that is not an event stream (an error status,
// or an error answered as plain JSON); decode turns one SSE message into
// an event, nil for one to skip, or into the error that ends the stream.
// The response body is closed on return, whichever way the iteration
// ends, which releases the connection of a stream the caller left.
func readStream(ctx context.Context, hc *http.Client, req *http.Request,
	refuse func(*http.Response, []byte) error,
	decode func(sse.Message) (*a2av1.StreamResponse, error),
	yield func(event, error) bool,
) {
	resp, err := hc.Do(req)
	if err != nil {
		yield(event{}, unreachable(ctx, err))
		return
	}
	defer resp.Body.Close()
	if !successful(resp) || !isEventStream(resp) {
		yield(event{}, refusal(ctx, resp, refuse))
		return
	}
	r := sse.NewReader(resp.Body, maxEventSize)
	for {
		m, err := r.Next()
		if err == io.EOF {
			return // a clean end; whether the task ended is the Client's concern
		}
		if err != nil {
			yield(event{}, unreachable(ctx, err))
			return
		}
		ev, err := decode(m)
		if err != nil {
			yield(event{}, err)
			return
		}
		if ev == nil {
			continue
		}
		if !yield(event{seq: eventSeq(m.ID), resp: ev}, nil) {
			return
		}
	}
}

// refusal is the error of a streaming call answered without a stream.
func refusal(ctx context.Context, resp *http.Response, refuse func(*http.Response, []byte) error) error {
	body, err := readBody(resp)
	if err != nil {
		return unreachable(ctx, err)
	}
	if err := refuse(resp, body); err != nil {
		return err
	}
	return a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "a streaming call answered with %s instead of an event stream: %s",
		resp.Header.Get("Content-Type"), snippet(body))
}

// isEventStream reports whether a response is an SSE stream.
func isEventStream(resp *http.Response) bool {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return err == nil && mt == a2agrpc.MediaTypeEventStream
}

// eventSeq is the sequence number an SSE id carries; 0 when there is none
// or it is not ours (a number).
func eventSeq(id string) int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
