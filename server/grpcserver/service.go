package grpcserver

import (
	"context"
	"iter"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// service adapts a server.API to a2av1.A2AServiceServer. Every error
// leaves as an *a2agrpc.Error, whose GRPCStatus carries the code from the
// error table and a google.rpc.ErrorInfo.
type service struct {
	a2av1.UnimplementedA2AServiceServer
	h        server.API
	draining *drain
}

// NewService returns the A2AService implementation over h, for callers that
// assemble their own grpc.Server. Service parameters reach h only through
// the interceptors of [UnaryInterceptors] and [StreamInterceptors].
func NewService(h server.API) a2av1.A2AServiceServer {
	return &service{h: h, draining: newDrain()}
}

func wireErr(err error) error {
	if err == nil {
		return nil
	}
	return a2agrpc.AsError(err)
}

func (s *service) SendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	resp, err := s.h.SendMessage(ctx, req)
	return resp, wireErr(err)
}

func (s *service) GetTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error) {
	resp, err := s.h.GetTask(ctx, req)
	return resp, wireErr(err)
}

func (s *service) ListTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error) {
	resp, err := s.h.ListTasks(ctx, req)
	return resp, wireErr(err)
}

func (s *service) CancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error) {
	resp, err := s.h.CancelTask(ctx, req)
	return resp, wireErr(err)
}

func (s *service) CreateTaskPushNotificationConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	resp, err := s.h.CreateTaskPushNotificationConfig(ctx, req)
	return resp, wireErr(err)
}

func (s *service) GetTaskPushNotificationConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error) {
	resp, err := s.h.GetTaskPushNotificationConfig(ctx, req)
	return resp, wireErr(err)
}

func (s *service) ListTaskPushNotificationConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
	resp, err := s.h.ListTaskPushNotificationConfigs(ctx, req)
	return resp, wireErr(err)
}

func (s *service) DeleteTaskPushNotificationConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) (*emptypb.Empty, error) {
	resp, err := s.h.DeleteTaskPushNotificationConfig(ctx, req)
	return resp, wireErr(err)
}

func (s *service) GetExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error) {
	resp, err := s.h.GetExtendedAgentCard(ctx, req)
	return resp, wireErr(err)
}

// SendStreamingMessage forwards events as the agent writes them. A slow
// reader only fills this stream's bounded queue in the handler; past it the
// stream ends with RESOURCE_EXHAUSTED while the agent carries on.
func (s *service) SendStreamingMessage(req *a2av1.SendMessageRequest, stream grpc.ServerStreamingServer[a2av1.StreamResponse]) error {
	return s.forward(stream, func(ctx context.Context) iter.Seq2[server.Event, error] {
		return s.h.SendStreamingMessage(ctx, req)
	}, false)
}

// SubscribeToTask follows a task until it is terminal. On shutdown the
// stream ends at once with UNAVAILABLE so the client can resubscribe to
// another replica.
func (s *service) SubscribeToTask(req *a2av1.SubscribeToTaskRequest, stream grpc.ServerStreamingServer[a2av1.StreamResponse]) error {
	return s.forward(stream, func(ctx context.Context) iter.Seq2[server.Event, error] {
		return s.h.SubscribeToTask(ctx, req)
	}, true)
}

// forward sends a handler stream to a gRPC stream. Following streams end as
// soon as the server starts draining; send streams end with their task.
func (s *service) forward(stream grpc.ServerStreamingServer[a2av1.StreamResponse], open func(context.Context) iter.Seq2[server.Event, error], following bool) error {
	ctx := stream.Context()
	if following {
		var stop func()
		ctx, stop = s.draining.follow(ctx)
		defer stop()
	}
	for ev, err := range open(ctx) {
		if err != nil {
			return wireErr(err)
		}
		if err := stream.Send(ev.Response); err != nil {
			return err
		}
	}
	return nil
}
