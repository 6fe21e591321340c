package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/sse"
)

// The JSON-RPC method names of A2A v1.0: the RPC names of the schema.
const (
	rpcSendMessage          = "SendMessage"
	rpcSendStreamingMessage = "SendStreamingMessage"
	rpcGetTask              = "GetTask"
	rpcListTasks            = "ListTasks"
	rpcCancelTask           = "CancelTask"
	rpcSubscribeToTask      = "SubscribeToTask"
	rpcCreatePushConfig     = "CreateTaskPushNotificationConfig"
	rpcGetPushConfig        = "GetTaskPushNotificationConfig"
	rpcListPushConfigs      = "ListTaskPushNotificationConfigs"
	rpcDeletePushConfig     = "DeleteTaskPushNotificationConfig"
	rpcGetExtendedAgentCard = "GetExtendedAgentCard"
)

const jsonrpcVersion = "2.0"

// jsonrpcTransport speaks the JSON-RPC 2.0 binding: every call is a POST
// of one request envelope to the endpoint, answered by one response
// envelope, or for the two streams by SSE whose every event is a response
// envelope.
type jsonrpcTransport struct {
	endpoint string
	hc       *http.Client
	p        params
	// lastID numbers the calls, so that each response can be checked
	// against the call it answers.
	lastID atomic.Int64
}

// newJSONRPC returns the JSON-RPC transport of the endpoint, used exactly
// as the card spells it. hc nil means http.DefaultClient.
func newJSONRPC(endpoint string, hc *http.Client, p params) transport {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &jsonrpcTransport{endpoint: endpoint, hc: hc, p: p}
}

func (t *jsonrpcTransport) sendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	out := &a2av1.SendMessageResponse{}
	return out, t.call(ctx, rpcSendMessage, req, out)
}

func (t *jsonrpcTransport) sendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) stream {
	return t.stream(ctx, rpcSendStreamingMessage, req, -1)
}

func (t *jsonrpcTransport) getTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error) {
	out := &a2av1.Task{}
	return out, t.call(ctx, rpcGetTask, req, out)
}

func (t *jsonrpcTransport) listTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error) {
	out := &a2av1.ListTasksResponse{}
	return out, t.call(ctx, rpcListTasks, req, out)
}

func (t *jsonrpcTransport) cancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error) {
	out := &a2av1.Task{}
	return out, t.call(ctx, rpcCancelTask, req, out)
}

func (t *jsonrpcTransport) subscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest, after int64) stream {
	return t.stream(ctx, rpcSubscribeToTask, req, after)
}

func (t *jsonrpcTransport) createPushConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	out := &a2av1.TaskPushNotificationConfig{}
	return out, t.call(ctx, rpcCreatePushConfig, req, out)
}

func (t *jsonrpcTransport) getPushConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error) {
	out := &a2av1.TaskPushNotificationConfig{}
	return out, t.call(ctx, rpcGetPushConfig, req, out)
}

func (t *jsonrpcTransport) listPushConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
	out := &a2av1.ListTaskPushNotificationConfigsResponse{}
	return out, t.call(ctx, rpcListPushConfigs, req, out)
}

// deletePushConfig ignores the result: Empty, which servers write as {} or
// null.
func (t *jsonrpcTransport) deletePushConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) error {
	return t.call(ctx, rpcDeletePushConfig, req, nil)
}

func (t *jsonrpcTransport) getExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error) {
	out := &a2av1.AgentCard{}
	return out, t.call(ctx, rpcGetExtendedAgentCard, req, out)
}

// close releases nothing: the HTTP client's connections belong to whoever
// made the client.
func (t *jsonrpcTransport) close() error { return nil }

// rpcCall is a JSON-RPC 2.0 request envelope.
type rpcCall struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      int64           `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// rpcReply is a JSON-RPC 2.0 response envelope.
type rpcReply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *rpcErrorObject `json:"error"`
}

// call performs one unary call and decodes its result into out (nil: the
// result is ignored).
func (t *jsonrpcTransport) call(ctx context.Context, method string, params, out proto.Message) error {
	id := t.lastID.Add(1)
	req, err := t.request(ctx, id, method, params, a2agrpc.MediaTypeJSON)
	if err != nil {
		return err
	}
	resp, body, err := exchange(ctx, t.hc, req)
	if err != nil {
		return err
	}
	reply, err := decodeReply(resp, body, id)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return decodeResult(reply.Result, out)
}

// stream performs a streaming call; after >= 0 asks to resume after that
// event (Last-Event-ID), which SubscribeToTask honours.
func (t *jsonrpcTransport) stream(ctx context.Context, method string, params proto.Message, after int64) stream {
	return func(yield func(event, error) bool) {
		id := t.lastID.Add(1)
		req, err := t.request(ctx, id, method, params, a2agrpc.MediaTypeEventStream)
		if err != nil {
			yield(event{}, err)
			return
		}
		if after >= 0 {
			req.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
		}
		refuse := func(resp *http.Response, body []byte) error {
			_, err := decodeReply(resp, body, id)
			return err
		}
		decode := func(m sse.Message) (*a2av1.StreamResponse, error) {
			return rpcEvent(m, id)
		}
		readStream(ctx, t.hc, req, refuse, decode, yield)
	}
}

// request builds the POST of one call: params are the ProtoJSON of the
// request message.
func (t *jsonrpcTransport) request(ctx context.Context, id int64, method string, params proto.Message, accept string) (*http.Request, error) {
	p, err := a2ajson.Marshal(params)
	if err != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidParams, "client: encoding the request: %v", err)
	}
	body, err := json.Marshal(rpcCall{JSONRPC: jsonrpcVersion, ID: id, Method: method, Params: p})
	if err != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInternal, "client: encoding the request: %v", err)
	}
	return newHTTPRequest(ctx, t.p, http.MethodPost, t.endpoint, body, a2agrpc.MediaTypeJSON, accept)
}

// decodeReply reads the response to call id. A JSON-RPC error is the
// server's error whatever the HTTP status (servers answer authentication
// failures with 401 and an envelope); a non-2xx status without one is a
// plain HTTP error (a proxy's page, or an AIP-193 body for a request the
// server refused before JSON-RPC, which is why an "error" outside a
// "jsonrpc": "2.0" envelope only counts in a 2xx answer). A success must
// answer this call's id.
func decodeReply(resp *http.Response, body []byte, id int64) (*rpcReply, error) {
	var reply rpcReply
	decodeErr := json.Unmarshal(body, &reply)
	if decodeErr == nil && reply.Error != nil && (reply.JSONRPC == jsonrpcVersion || successful(resp)) {
		e := rpcError(reply.Error)
		if d := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 && e.RetryAfter <= 0 {
			e = e.WithRetryAfter(d)
		}
		return nil, e
	}
	if !successful(resp) {
		return nil, httpError(resp, body)
	}
	if decodeErr != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "not a JSON-RPC response: %s", snippet(body)).WithCause(decodeErr)
	}
	if err := checkReply(&reply, id); err != nil {
		return nil, err
	}
	return &reply, nil
}

// checkReply checks that a successful envelope answers call id and has a
// result.
func checkReply(reply *rpcReply, id int64) error {
	if !sameID(reply.ID, id) {
		return a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "a JSON-RPC response with id %s to the call with id %d", reply.ID, id)
	}
	if reply.Result == nil {
		return a2agrpc.NewError(a2agrpc.ReasonInvalidAgentResponse, "a JSON-RPC response with neither result nor error")
	}
	return nil
}

// sameID reports whether a response id is id. A string holding the number
// is accepted too: some servers echo ids as strings.
func sameID(raw json.RawMessage, id int64) bool {
	s := string(bytes.TrimSpace(raw))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s == strconv.FormatInt(id, 10)
}

// rpcEvent decodes one event of a JSON-RPC stream: a response envelope for
// call id whose result is a StreamResponse, or whose error ends the
// stream.
func rpcEvent(m sse.Message, id int64) (*a2av1.StreamResponse, error) {
	var reply rpcReply
	if err := json.Unmarshal(m.Data, &reply); err != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "a stream event that is not a JSON-RPC response: %s", snippet(m.Data)).WithCause(err)
	}
	if reply.Error != nil {
		return nil, rpcError(reply.Error)
	}
	if err := checkReply(&reply, id); err != nil {
		return nil, err
	}
	out := &a2av1.StreamResponse{}
	if err := decodeResult(reply.Result, out); err != nil {
		return nil, err
	}
	if out.GetPayload() == nil {
		return nil, nil // a kind of event this client does not know
	}
	return out, nil
}
