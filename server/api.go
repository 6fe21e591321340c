package server

import (
	"context"
	"iter"

	"google.golang.org/protobuf/types/known/emptypb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// API is the A2A service as the bindings serve it: the eleven operations,
// resumable subscriptions and the public Agent Card. [*Handler] implements
// it with agents running in this process; package gateway implements it by
// calling an agent elsewhere, so that the HTTP bindings (httpserver) can
// front any A2A gRPC agent. Implementations report errors as
// *a2agrpc.Error values.
type API interface {
	AgentCard() *a2av1.AgentCard
	SendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error)
	SendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) iter.Seq2[Event, error]
	GetTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error)
	ListTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error)
	CancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error)
	SubscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest) iter.Seq2[Event, error]
	// ResubscribeToTask resumes after the event with sequence number
	// after (SSE's Last-Event-ID); see [Handler.ResubscribeToTask].
	ResubscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest, after int64) iter.Seq2[Event, error]
	CreateTaskPushNotificationConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error)
	GetTaskPushNotificationConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error)
	ListTaskPushNotificationConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error)
	DeleteTaskPushNotificationConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) (*emptypb.Empty, error)
	GetExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error)
}

var _ API = (*Handler)(nil)
