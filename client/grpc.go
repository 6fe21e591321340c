package client

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// grpcTransport is the A2A gRPC binding: one RPC of lf.a2a.v1.A2AService
// per operation.
type grpcTransport struct {
	api a2av1.A2AServiceClient
	p   params
}

// newGRPC returns the gRPC binding over conn. The Client owns conn, so
// closing the transport leaves it open.
func newGRPC(conn grpc.ClientConnInterface, p params) transport {
	return &grpcTransport{api: a2av1.NewA2AServiceClient(conn), p: p}
}

// outgoing returns ctx carrying the call's service parameters as gRPC
// metadata. Metadata the caller already put in ctx is kept; a key we set
// replaces the caller's value, so the header source stays authoritative.
func (t *grpcTransport) outgoing(ctx context.Context) (context.Context, error) {
	h, err := t.p.headers(ctx)
	if err != nil {
		return nil, a2agrpc.AsError(err)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	for k, v := range h {
		md.Set(strings.ToLower(k), v)
	}
	return metadata.NewOutgoingContext(ctx, md), nil
}

// unaryGRPC runs one unary RPC with the call's metadata and converts its
// error. It is a function rather than a method because methods cannot
// have type parameters.
func unaryGRPC[Req, Resp any](ctx context.Context, t *grpcTransport, req Req,
	call func(context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	var zero Resp
	octx, err := t.outgoing(ctx)
	if err != nil {
		return zero, err
	}
	resp, err := call(octx, req)
	if err != nil {
		return zero, grpcError(ctx, err)
	}
	return resp, nil
}

func (t *grpcTransport) sendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	return unaryGRPC(ctx, t, req, t.api.SendMessage)
}

func (t *grpcTransport) getTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error) {
	return unaryGRPC(ctx, t, req, t.api.GetTask)
}

func (t *grpcTransport) listTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error) {
	return unaryGRPC(ctx, t, req, t.api.ListTasks)
}

func (t *grpcTransport) cancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error) {
	return unaryGRPC(ctx, t, req, t.api.CancelTask)
}

func (t *grpcTransport) createPushConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	return unaryGRPC(ctx, t, req, t.api.CreateTaskPushNotificationConfig)
}

func (t *grpcTransport) getPushConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error) {
	return unaryGRPC(ctx, t, req, t.api.GetTaskPushNotificationConfig)
}

func (t *grpcTransport) listPushConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
	return unaryGRPC(ctx, t, req, t.api.ListTaskPushNotificationConfigs)
}

func (t *grpcTransport) deletePushConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) error {
	_, err := unaryGRPC(ctx, t, req, t.api.DeleteTaskPushNotificationConfig)
	return err
}

func (t *grpcTransport) getExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error) {
	return unaryGRPC(ctx, t, req, t.api.GetExtendedAgentCard)
}

func (t *grpcTransport) sendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) stream {
	return t.serverStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[a2av1.StreamResponse], error) {
		return t.api.SendStreamingMessage(ctx, req)
	})
}

// subscribeToTask ignores after: the gRPC binding has no way to resume, so
// the subscription starts with the current task, which the Client accepts
// as a resumption that lost nothing of the final state.
func (t *grpcTransport) subscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest, _ int64) stream {
	return t.serverStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[a2av1.StreamResponse], error) {
		return t.api.SubscribeToTask(ctx, req)
	})
}

// serverStream adapts a server-streaming RPC to a stream. The RPC runs under
// a context derived from ctx and cancelled when the iteration ends, so a
// caller breaking out of its loop cancels the call on the server too.
func (t *grpcTransport) serverStream(ctx context.Context, open func(context.Context) (grpc.ServerStreamingClient[a2av1.StreamResponse], error)) stream {
	return func(yield func(event, error) bool) {
		octx, err := t.outgoing(ctx)
		if err != nil {
			yield(event{}, err)
			return
		}
		callCtx, cancel := context.WithCancel(octx)
		defer cancel()
		s, err := open(callCtx)
		if err != nil {
			yield(event{}, grpcError(ctx, err))
			return
		}
		for {
			resp, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(event{}, grpcError(ctx, err))
				return
			}
			if !yield(event{resp: resp}, nil) {
				return
			}
		}
	}
}

func (t *grpcTransport) close() error { return nil }

// grpcError converts an RPC error into the transport's error model.
//
//   - When ctx ended, the RPC's CANCELLED or DEADLINE_EXCEEDED status is
//     only its echo: the ctx error is returned (wrapped in an *a2agrpc.Error)
//     so errors.Is(err, context.Canceled) holds.
//   - A status carrying an A2A ErrorInfo is the server's own error and is
//     decoded as such.
//   - Any other status was made by gRPC itself (no connection, a reset
//     stream, a message too large) or by a peer that is not A2A; it is
//     classified by code and keeps the original error as its cause, and
//     UNAVAILABLE in particular marks the call as one worth retrying.
func grpcError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if c := status.Code(err); c == codes.Canceled || c == codes.DeadlineExceeded {
		if ctxErr := ctxEnded(ctx); ctxErr != nil {
			return a2agrpc.AsError(ctxErr)
		}
	}
	st, ok := status.FromError(err)
	if !ok {
		return a2agrpc.AsError(err)
	}
	if hasA2AErrorInfo(st) {
		return a2agrpc.FromStatus(st)
	}
	return a2agrpc.FromStatus(st).WithCause(err)
}

// ctxEnded is ctx's error, also when its deadline has passed but its own
// timer has not fired yet: gRPC (and the server, which gets the deadline
// as grpc-timeout) may act on the deadline a moment before ctx does.
func ctxEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// hasA2AErrorInfo reports whether st carries an ErrorInfo in the A2A
// domain, i.e. whether an A2A server chose this error deliberately.
func hasA2AErrorInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == a2agrpc.ErrorDomain {
			return true
		}
	}
	return false
}
