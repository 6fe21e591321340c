// Package grpcecho is the baseline of `make bench`: a bare grpc-go server
// with the standard grpc.testing.TestService, echoing a unary payload and
// streaming a requested number of messages. It does nothing A2A does (no
// tasks, no validation, no fan-out), so it is the ceiling any gRPC server
// reaches on the same machine.
package grpcecho

import (
	"context"

	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

type service struct {
	testpb.UnimplementedTestServiceServer
}

// Register adds the echo TestService to s.
func Register(s *grpc.Server) { testpb.RegisterTestServiceServer(s, service{}) }

// UnaryCall echoes the request payload.
func (service) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

// StreamingOutputCall sends one message per requested response, each
// carrying a slice of the request payload of the requested size.
func (service) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	body := req.GetPayload().GetBody()
	for _, p := range req.GetResponseParameters() {
		n := min(int(p.GetSize()), len(body))
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: body[:n]}}); err != nil {
			return err
		}
	}
	return nil
}
