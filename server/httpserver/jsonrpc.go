package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/sse"
	"github.com/a2agrpc/a2agrpc/server"
)

// JSONRPCPath is where the JSON-RPC 2.0 binding is served (with and without
// a trailing slash). A tenant named "jsonrpc" is therefore not routable over
// REST.
const JSONRPCPath = "/jsonrpc"

// rpcRequest is a JSON-RPC 2.0 request envelope. ID keeps its JSON form so it
// is echoed with the same type.
type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Data    []json.RawMessage `json:"data,omitempty"`
	// err is the error rendered, kept for the response headers it implies
	// (Retry-After).
	err *a2agrpc.Error
}

var nullID = json.RawMessage("null")

// method is one A2A operation by its v1.0 JSON-RPC name: how to read its
// params and run it. Exactly one of unary and stream is set. stream gets
// the event sequence number a reconnecting client resumes after (its
// Last-Event-ID), or -1; only SubscribeToTask can resume, a send stream
// always starts anew.
type method struct {
	params func() proto.Message
	unary  func(context.Context, server.API, proto.Message) (proto.Message, error)
	stream func(ctx context.Context, h server.API, p proto.Message, after int64) iter.Seq2[server.Event, error]
}

// methods is the table of the eleven operations.
var methods = map[string]method{
	"SendMessage": {params: func() proto.Message { return &a2av1.SendMessageRequest{} },
		unary: func(ctx context.Context, h server.API, p proto.Message) (proto.Message, error) {
			return h.SendMessage(ctx, p.(*a2av1.SendMessageRequest))
		}},
	"SendStreamingMessage": {params: func() proto.Message { return &a2av1.SendMessageRequest{} },
		stream: func(ctx context.Context, h server.API, p proto.Message, _ int64) iter.Seq2[server.Event, error] {
			return h.SendStreamingMessage(ctx, p.(*a2av1.SendMessageRequest))
		}},
	"GetTask": {params: func() proto.Message { return &a2av1.GetTaskRequest{} },
		unary: func(ctx context.Context, h server.API, p proto.Message) (proto.Message, error) {
			return h.GetTask(ctx, p.(*a2av1.GetTaskRequest))
		}},
	"ListTasks": {params: func() proto.Message { return &a2av1.ListTasksRequest{} },
		unary: func(ctx context.Context, h server.API, p proto.Message) (proto.Message, error) {
			return h.ListTasks(ctx, p.(*a2av1.ListTasksRequest))
		}},
	"CancelTask": {params: func() proto.Message { return &a2av1.CancelTaskRequest{} },
		unary: func(ctx context.Context, h server.API, p proto.Message) (proto.Message, error) {
			return h.CancelTask(ctx, p.(*a2av1.CancelTaskRequest))
		}},
	"SubscribeToTask": {params: func() proto.Message { return &a2av1.SubscribeToTaskRequest{} },
		stream: func(ctx context.Context, h server.API, p proto.Message, after int64) iter.Seq2[server.Event, error] {
			return h.ResubscribeToTask(ctx, p.(*a2av1.SubscribeToTaskRequest), after)
		}},
	"CreateTaskPushNotificationConfig": {params: func() proto.Message { return &a2av1.TaskPushNotificationConfig{} },
		unary: func(ctx context.Context, h server.API, p proto.Message) (proto.Message, error) {
			return h.CreateTaskPushNotificationConfig(ctx, p.(*a2av1.TaskPushNotificationConfig))
		}},
	"GetTaskPushNotificationConfig": {params: func() proto.Message { return &a2av1.GetTaskPushNotificationConfigRequest{} },
		unary: func(ctx context.Context, h server.API, p proto.Message) (proto.Message, error) {
			return h.GetTaskPushNotificationConfig(ctx, p.(*a2av1.GetTaskPushNotificationConfigRequest))
		}},
	"ListTaskPushNotificationConfigs": {params: func() proto.Message { return &a2av1.ListTaskPushNotificationConfigsRequest{} },
		unary: func(ctx context.Context, h server.API, p proto.Message) (proto.Message, error) {
			return h.ListTaskPushNotificationConfigs(ctx, p.(*a2av1.ListTaskPushNotificationConfigsRequest))
		}},
	"DeleteTaskPushNotificationConfig": {params: func() proto.Message { return &a2av1.DeleteTaskPushNotificationConfigRequest{} },
		unary: func(ctx context.Context, h server.API, p proto.Message) (proto.Message, error) {
			return h.DeleteTaskPushNotificationConfig(ctx, p.(*a2av1.DeleteTaskPushNotificationConfigRequest))
		}},
	"GetExtendedAgentCard": {params: func() proto.Message { return &a2av1.GetExtendedAgentCardRequest{} },
		unary: func(ctx context.Context, h server.API, p proto.Message) (proto.Message, error) {
			return h.GetExtendedAgentCard(ctx, p.(*a2av1.GetExtendedAgentCardRequest))
		}},
}

// rpcErr renders an error as a JSON-RPC error object: the code from the
// error table, ErrorInfo (and BadRequest) in data.
func rpcErr(err error) *rpcError {
	e := a2agrpc.AsError(err)
	out := &rpcError{Code: e.JSONRPCCode(), Message: e.Message, err: e}
	for _, d := range e.GRPCStatus().Proto().GetDetails() {
		if raw, err := protojson.Marshal(d); err == nil {
			out.Data = append(out.Data, raw)
		}
	}
	return out
}

// jsonrpc serves the JSON-RPC 2.0 endpoint. Errors travel in HTTP 200
// bodies, as JSON-RPC clients expect; streaming methods answer with SSE
// whose every event is a full response envelope, errors included.
func (s *Server) jsonrpc(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErrorStatus(w, a2agrpc.Errorf(a2agrpc.ReasonMethodNotFound, "JSON-RPC requests use POST, not %s", r.Method), http.StatusMethodNotAllowed)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, err) // 413 for an oversized body
		return
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		s.jsonrpcBatch(w, r, trimmed)
		return
	}
	req, perr := parseRPC(trimmed)
	if perr != nil {
		writeRPC(w, rpcResponse{JSONRPC: "2.0", ID: idOr(req), Error: rpcErr(perr)})
		return
	}
	m, ok := methods[req.Method]
	if !ok {
		writeRPC(w, rpcResponse{JSONRPC: "2.0", ID: idOr(req), Error: rpcErr(
			a2agrpc.Errorf(a2agrpc.ReasonMethodNotFound, "unknown method %q", req.Method))})
		return
	}
	params, perr := decodeParams(m, req.Params)
	if m.stream != nil {
		if req.ID == nil {
			writeRPC(w, rpcResponse{JSONRPC: "2.0", ID: nullID, Error: rpcErr(
				a2agrpc.Errorf(a2agrpc.ReasonInvalidRequest, "streaming method %s needs an id", req.Method))})
			return
		}
		s.jsonrpcStream(w, r, req, m, params, perr)
		return
	}
	if req.ID == nil { // a notification: run it, answer nothing
		if perr == nil {
			_, _ = m.unary(r.Context(), s.h, params)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	resp := s.call(r.Context(), req, m, params, perr)
	setActivated(w, server.CallInfoFrom(r.Context()))
	writeRPC(w, resp)
}

func (s *Server) call(ctx context.Context, req *rpcRequest, m method, params proto.Message, perr error) rpcResponse {
	resp := rpcResponse{JSONRPC: "2.0", ID: idOr(req)}
	if perr != nil {
		resp.Error = rpcErr(perr)
		return resp
	}
	result, err := m.unary(ctx, s.h, params)
	if err == nil {
		var b []byte
		if b, err = a2ajson.Marshal(result); err == nil {
			resp.Result = b
			return resp
		}
	}
	resp.Error = rpcErr(err)
	return resp
}

// jsonrpcBatch answers a batch of unary calls with an array of responses
// (notifications get none). Streaming methods cannot be batched.
func (s *Server) jsonrpcBatch(w http.ResponseWriter, r *http.Request, raw []byte) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		writeRPC(w, rpcResponse{JSONRPC: "2.0", ID: nullID, Error: rpcErr(a2agrpc.Errorf(a2agrpc.ReasonParseError, "invalid JSON: %v", err))})
		return
	}
	if len(items) == 0 {
		writeRPC(w, rpcResponse{JSONRPC: "2.0", ID: nullID, Error: rpcErr(a2agrpc.NewError(a2agrpc.ReasonInvalidRequest, "empty batch"))})
		return
	}
	var out []rpcResponse
	for _, item := range items {
		req, perr := parseRPC(item)
		if perr != nil {
			out = append(out, rpcResponse{JSONRPC: "2.0", ID: idOr(req), Error: rpcErr(perr)})
			continue
		}
		m, ok := methods[req.Method]
		switch {
		case req.ID == nil && (!ok || m.stream != nil):
			// a notification gets no answer, not even an error
		case !ok:
			out = append(out, rpcResponse{JSONRPC: "2.0", ID: idOr(req), Error: rpcErr(a2agrpc.Errorf(a2agrpc.ReasonMethodNotFound, "unknown method %q", req.Method))})
		case m.stream != nil:
			out = append(out, rpcResponse{JSONRPC: "2.0", ID: idOr(req), Error: rpcErr(a2agrpc.Errorf(a2agrpc.ReasonInvalidRequest, "streaming method %s cannot be part of a batch", req.Method))})
		default:
			params, perr := decodeParams(m, req.Params)
			resp := s.call(r.Context(), req, m, params, perr)
			if req.ID != nil {
				out = append(out, resp)
			}
		}
	}
	if len(out) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	setActivated(w, server.CallInfoFrom(r.Context()))
	w.Header().Set("Content-Type", a2agrpc.MediaTypeJSON)
	_ = json.NewEncoder(w).Encode(out)
}

// jsonrpcStream answers a streaming method with 200 and SSE, delivering
// even an immediate failure as an event: JSON-RPC streaming clients read
// only events once the request was accepted. Each event carries its
// sequence number as the SSE id, as on the REST binding, so that a client
// can resume SubscribeToTask with Last-Event-ID.
func (s *Server) jsonrpcStream(w http.ResponseWriter, r *http.Request, req *rpcRequest, m method, params proto.Message, perr error) {
	var events iter.Seq2[server.Event, error]
	after := int64(-1)
	if perr == nil && req.Method == "SubscribeToTask" {
		after, perr = lastEventID(r)
	}
	if perr == nil {
		ctx := r.Context()
		if req.Method == "SubscribeToTask" {
			var stop func()
			ctx, stop = s.follow(ctx)
			defer stop()
		}
		events = m.stream(ctx, s.h, params, after)
	}
	next, stop := func() (server.Event, error, bool) { return server.Event{}, perr, true }, func() {}
	if events != nil {
		next, stop = iter.Pull2(events)
	}
	defer stop()
	ev, err, ok := next()
	setActivated(w, server.CallInfoFrom(r.Context()))
	out := sse.Start(w, s.cfg.keepAlive)
	defer out.Close()
	id := idOr(req)
	for ok {
		resp := rpcResponse{JSONRPC: "2.0", ID: id}
		seq := ""
		if err != nil {
			resp.Error = rpcErr(s.draining(err))
		} else if resp.Result, err = a2ajson.Marshal(ev.Response); err != nil {
			resp.Error, resp.Result = rpcErr(err), nil
		} else if ev.Seq > 0 {
			seq = strconv.FormatInt(ev.Seq, 10)
		}
		if out.Event(seq, "", resp.encode()) != nil || resp.Error != nil {
			return
		}
		ev, err, ok = next()
	}
}

// parseRPC reads and checks one request envelope.
func parseRPC(raw []byte) (*rpcRequest, error) {
	var req rpcRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || !json.Valid(raw) {
			return nil, a2agrpc.Errorf(a2agrpc.ReasonParseError, "invalid JSON: %v", err)
		}
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidRequest, "not a JSON-RPC 2.0 request: %v", err)
	}
	if string(req.ID) == "null" {
		req.ID = nullID
	}
	switch {
	case req.JSONRPC != "2.0":
		return &req, a2agrpc.NewError(a2agrpc.ReasonInvalidRequest, `"jsonrpc" must be "2.0"`)
	case req.Method == "":
		return &req, a2agrpc.NewError(a2agrpc.ReasonInvalidRequest, `"method" is required`)
	case req.ID != nil && !validID(req.ID):
		return &req, a2agrpc.NewError(a2agrpc.ReasonInvalidRequest, `"id" must be a string, a number or null`)
	}
	return &req, nil
}

func validID(id json.RawMessage) bool {
	var v any
	if json.Unmarshal(id, &v) != nil {
		return false
	}
	switch v.(type) {
	case string, float64, nil:
		return true
	}
	return false
}

func idOr(req *rpcRequest) json.RawMessage {
	if req == nil || req.ID == nil || !validID(req.ID) {
		return nullID
	}
	return req.ID
}

// decodeParams reads params as the ProtoJSON of the method's request
// message; absent or null params are an empty request.
func decodeParams(m method, raw json.RawMessage) (proto.Message, error) {
	p := m.params()
	if len(raw) == 0 || string(raw) == "null" {
		return p, nil
	}
	if err := a2ajson.Unmarshal(raw, p); err != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidParams, "invalid params: %v", err)
	}
	return p, nil
}

func writeRPC(w http.ResponseWriter, resp rpcResponse) {
	writeRPCStatus(w, resp, http.StatusOK)
}

// writeRPCStatus writes a JSON-RPC response with an HTTP status other than
// 200: errors raised before the JSON-RPC layer (authentication) keep the
// status HTTP clients and proxies act on.
func writeRPCStatus(w http.ResponseWriter, resp rpcResponse, httpStatus int) {
	w.Header().Set("Content-Type", a2agrpc.MediaTypeJSON)
	if resp.Error != nil && resp.Error.err != nil {
		setRetryAfter(w, resp.Error.err, httpStatus)
	}
	if httpStatus != http.StatusOK {
		w.WriteHeader(httpStatus)
	}
	_, _ = w.Write(resp.encode())
}

// encode writes the envelope around the already-encoded result directly:
// encoding/json would re-validate and re-compact the whole result.
func (r rpcResponse) encode() []byte {
	if r.Error != nil {
		b, _ := json.Marshal(r)
		return b
	}
	result := r.Result
	if result == nil {
		result = json.RawMessage("{}")
	}
	b := make([]byte, 0, len(result)+len(r.ID)+40)
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, r.ID...)
	b = append(b, `,"result":`...)
	b = append(b, result...)
	return append(b, '}')
}
