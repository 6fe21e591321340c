package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// dial opens n plaintext connections to addr; workers use them round-robin.
func dial(addr string, n int) ([]*grpc.ClientConn, error) {
	out := make([]*grpc.ClientConn, 0, n)
	for range max(n, 1) {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func closeAll(conns []*grpc.ClientConn) error {
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// GRPC is the A2A gRPC binding (lf.a2a.v1.A2AService).
type GRPC struct {
	conns   []*grpc.ClientConn
	clients []a2av1.A2AServiceClient
}

// NewGRPC connects to an A2A gRPC endpoint (host:port) with n connections.
func NewGRPC(addr string, n int) (*GRPC, error) {
	conns, err := dial(addr, n)
	if err != nil {
		return nil, err
	}
	g := &GRPC{conns: conns}
	for _, c := range conns {
		g.clients = append(g.clients, a2av1.NewA2AServiceClient(c))
	}
	return g, nil
}

var versionMD = metadata.Pairs(a2agrpc.MetadataVersion, a2agrpc.ProtocolVersion)

// Call implements [Target].
func (g *GRPC) Call(ctx context.Context, worker int, mode Mode, onEvent func()) error {
	client := g.clients[worker%len(g.clients)]
	ctx = metadata.NewOutgoingContext(ctx, versionMD)
	if mode == Unary {
		r, err := client.SendMessage(ctx, newMessage())
		if err != nil {
			return err
		}
		return checkSendResponse(r)
	}
	stream, err := client.SendStreamingMessage(ctx, newMessage())
	if err != nil {
		return err
	}
	var check streamCheck
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return check.done()
		}
		if err != nil {
			return err
		}
		onEvent()
		if err := check.add(ev); err != nil {
			return err
		}
	}
}

// Close implements [Target].
func (g *GRPC) Close() error { return closeAll(g.conns) }

// Raw is the bare grpc-go baseline (grpc.testing.TestService): a unary
// echo of the payload, or five streamed messages carrying it in pieces.
type Raw struct {
	conns   []*grpc.ClientConn
	clients []testpb.TestServiceClient
}

// NewRaw connects to a grpcecho server with n connections.
func NewRaw(addr string, n int) (*Raw, error) {
	conns, err := dial(addr, n)
	if err != nil {
		return nil, err
	}
	r := &Raw{conns: conns}
	for _, c := range conns {
		r.clients = append(r.clients, testpb.NewTestServiceClient(c))
	}
	return r, nil
}

var (
	rawPayload = &testpb.Payload{Body: []byte(Payload)}
	rawStream  = func() []*testpb.ResponseParameters {
		var p []*testpb.ResponseParameters
		for range 5 {
			p = append(p, &testpb.ResponseParameters{Size: int32(len(Payload) / 3)})
		}
		return p
	}()
)

// Call implements [Target].
func (r *Raw) Call(ctx context.Context, worker int, mode Mode, onEvent func()) error {
	client := r.clients[worker%len(r.clients)]
	if mode == Unary {
		resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: rawPayload})
		if err != nil {
			return err
		}
		if len(resp.GetPayload().GetBody()) != len(Payload) {
			return fmt.Errorf("echoed %d bytes", len(resp.GetPayload().GetBody()))
		}
		return nil
	}
	stream, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{Payload: rawPayload, ResponseParameters: rawStream})
	if err != nil {
		return err
	}
	n := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if n != 5 {
				return fmt.Errorf("%d messages, want 5", n)
			}
			return nil
		}
		if err != nil {
			return err
		}
		onEvent()
		n++
	}
}

// Close implements [Target].
func (r *Raw) Close() error { return closeAll(r.conns) }
