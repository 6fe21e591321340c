package grpcserver

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/server"
)

// IdentityFunc names the authenticated caller of a call ("" for anonymous).
// The security middleware provides one; without it every caller is
// anonymous.
type IdentityFunc func(ctx context.Context) string

// callInfo builds the handler's view of a call from its gRPC metadata.
func callInfo(ctx context.Context, identity IdentityFunc) *server.CallInfo {
	info := &server.CallInfo{}
	if v := metadata.ValueFromIncomingContext(ctx, a2agrpc.MetadataVersion); len(v) > 0 {
		info.Version = v[0]
	}
	if v := metadata.ValueFromIncomingContext(ctx, a2agrpc.MetadataExtensions); len(v) > 0 {
		info.Extensions = a2agrpc.SplitList(v...)
	}
	if identity != nil {
		info.Caller = identity(ctx)
	}
	if p, ok := peer.FromContext(ctx); ok {
		info.Remote = p.Addr
	}
	return info
}

func activatedHeader(info *server.CallInfo) metadata.MD {
	if act := info.Activated(); len(act) > 0 {
		return metadata.Pairs(a2agrpc.MetadataExtensions, strings.Join(act, ","))
	}
	return nil
}

// unaryParams puts the call's service parameters in its context and returns
// the activated extensions in the response header.
func unaryParams(identity IdentityFunc) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		info := callInfo(ctx, identity)
		resp, err := next(server.WithCallInfo(ctx, info), req)
		if md := activatedHeader(info); md != nil {
			_ = grpc.SetHeader(ctx, md)
		}
		return resp, err
	}
}

// streamParams is unaryParams for streams: the header goes out with the
// first message (or with the status when there is none).
func streamParams(identity IdentityFunc) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		info := callInfo(ss.Context(), identity)
		ps := &paramStream{ServerStream: ss, ctx: server.WithCallInfo(ss.Context(), info), info: info}
		err := next(srv, ps)
		ps.flushHeader()
		return err
	}
}

type paramStream struct {
	grpc.ServerStream
	ctx  context.Context
	info *server.CallInfo
	sent bool
}

func (s *paramStream) Context() context.Context { return s.ctx }

func (s *paramStream) SendMsg(m any) error {
	s.flushHeader()
	return s.ServerStream.SendMsg(m)
}

func (s *paramStream) flushHeader() {
	if s.sent {
		return
	}
	s.sent = true
	if md := activatedHeader(s.info); md != nil {
		_ = s.ServerStream.SetHeader(md)
	}
}
