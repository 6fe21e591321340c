package client

import (
	"context"
	"iter"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Transport names: the three A2A bindings as AgentInterface.protocol_binding
// spells them, and the a2agrpc mesh stream (an extension over the gRPC
// interface).
const (
	TransportMesh    = "MESH"
	TransportGRPC    = "GRPC"
	TransportREST    = "HTTP+JSON"
	TransportJSONRPC = "JSONRPC"
)

// DefaultPreference is the transport order used without [WithTransports]:
// the fastest first.
var DefaultPreference = []string{TransportMesh, TransportGRPC, TransportREST, TransportJSONRPC}

// event is one stream event and its sequence number in the task's event
// log, or 0 when the transport does not carry one (plain gRPC).
type event struct {
	seq  int64
	resp *a2av1.StreamResponse
}

// stream is what a transport returns for a streaming call. It yields events
// until the stream ends: cleanly (the iteration stops without an error), or
// with an error as the last pair. Breaking out of the iteration releases the
// call.
type stream = iter.Seq2[event, error]

// transport is one binding's wire protocol. The Client does everything
// binding-neutral (tenant, timeouts, retries, stream resumption); a
// transport only moves requests and responses.
//
// Every error a transport returns is, or wraps, an *a2agrpc.Error:
// the server's error as it sent it (with RetryAfter when the server asked
// for a delay), or ReasonUnavailable for a failure to reach the server or a
// connection lost mid-call, so that the Client can tell what may be retried.
type transport interface {
	sendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error)
	sendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) stream
	getTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error)
	listTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error)
	cancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error)
	// subscribeToTask subscribes; after >= 0 resumes after that event
	// sequence number where the binding can (SSE's Last-Event-ID, the
	// mesh's resume_after) and is ignored where it cannot.
	subscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest, after int64) stream
	createPushConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error)
	getPushConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error)
	listPushConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error)
	deletePushConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) error
	getExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error)
	close() error
}

// params are the service parameters sent with every call, the same way on
// every binding: as HTTP headers, or as gRPC metadata with lowercase keys.
type params struct {
	// headers returns the headers of one call: A2A-Version,
	// A2A-Extensions, credentials (Authorization, the API key header) and
	// W3C trace context (traceparent, tracestate) taken from ctx. Keys are
	// canonical HTTP header names; gRPC transports lowercase them.
	headers func(ctx context.Context) (map[string]string, error)
}
