package calllog

import (
	"context"
	"log/slog"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// GRPC returns the interceptors that log gRPC calls to l: the first of each
// pair assigns the request id (and must run first), the second is
// go-grpc-middleware's logging interceptor, logging each call once when it
// finishes, at the level [Level] gives its code. Payloads are never logged.
func GRPC(l *slog.Logger) (unary []grpc.UnaryServerInterceptor, stream []grpc.StreamServerInterceptor) {
	l = withIDs(l)
	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	opts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithLevels(func(c codes.Code) logging.Level { return logging.Level(Level(c)) }),
	}
	unary = []grpc.UnaryServerInterceptor{unaryID, logging.UnaryServerInterceptor(logger, opts...)}
	stream = []grpc.StreamServerInterceptor{streamID, logging.StreamServerInterceptor(logger, opts...)}
	return unary, stream
}

// Level is the level a call that ended with code is logged at: debug for
// success and for callers that left, info for what callers get wrong (not found, bad arguments,
// refused credentials, limits), warn for what may be the server's
// trouble (unavailable, deadline, aborted), error for its failures.
func Level(c codes.Code) slog.Level {
	switch c {
	case codes.OK, codes.Canceled: // a caller that leaves cancels: routine
		return slog.LevelDebug
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied,
		codes.FailedPrecondition, codes.OutOfRange, codes.Unauthenticated, codes.ResourceExhausted:
		return slog.LevelInfo
	case codes.DeadlineExceeded, codes.Aborted, codes.Unavailable, codes.Unimplemented:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// incomingID takes the caller's request id or makes one, and returns it in
// the response header.
func incomingID(ctx context.Context) (context.Context, metadata.MD) {
	var id string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(MetadataKey); len(v) > 0 {
			id = v[0]
		}
	}
	id = accept(id)
	return WithID(ctx, id), metadata.Pairs(MetadataKey, id)
}

func unaryID(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, md := incomingID(ctx)
	_ = grpc.SetHeader(ctx, md) // fails only once headers are sent, which they are not yet
	return handler(ctx, req)
}

func streamID(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, md := incomingID(ss.Context())
	_ = ss.SetHeader(md)
	return handler(srv, idStream{ss, ctx})
}

type idStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s idStream) Context() context.Context { return s.ctx }
