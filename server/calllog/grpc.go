package calllog

import (
	"context"
	"log/slog"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// GRPC returns go-grpc-middleware's logging interceptors, logging each
// call to l once when it finishes, at the level [Level] gives its code.
// Payloads are never logged. They belong after [UnaryID] and [StreamID] in
// the chain, so the lines carry the request id.
//
// While l leaves successful calls out (its level is above debug), calls run
// without the middleware and only failures are handed to it, with their
// real start time and duration: the middleware assembles its fields before
// it knows the outcome, which is most of its cost on a busy server.
func GRPC(l *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	l = Logger(l)
	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	opts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithLevels(func(c codes.Code) logging.Level { return logging.Level(Level(c)) }),
	}
	unary, stream := logging.UnaryServerInterceptor(logger, opts...), logging.StreamServerInterceptor(logger, opts...)
	everyCall := func(ctx context.Context) bool { return l.Enabled(ctx, Level(codes.OK)) }

	lazyUnary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if everyCall(ctx) {
			return unary(ctx, req, info, handler)
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		if err == nil {
			return resp, nil
		}
		return unary(replay(ctx, start), req, info, func(context.Context, any) (any, error) { return resp, err })
	}
	lazyStream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if everyCall(ss.Context()) {
			return stream(srv, ss, info, handler)
		}
		start := time.Now()
		err := handler(srv, ss)
		if err == nil {
			return nil
		}
		return stream(srv, ctxStream{ss, replay(ss.Context(), start)}, info, func(any, grpc.ServerStream) error { return err })
	}
	return lazyUnary, lazyStream
}

// replay gives the middleware a finished call's start time and duration,
// which take precedence over the ones it measures itself.
func replay(ctx context.Context, start time.Time) context.Context {
	return logging.InjectFields(ctx, append(logging.Fields{"grpc.start_time", start.Format(time.RFC3339)},
		logging.DurationToTimeMillisFields(time.Since(start))...))
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

// UnaryID and StreamID give each call a request id: the caller's, if it
// sent a sane one in x-request-id metadata, else a new one. It is put in the
// call's context ([ID]) and returned in the response header. They belong
// first in the chain, so that everything after sees the id.
func UnaryID(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, md := incomingID(ctx)
	_ = grpc.SetHeader(ctx, md) // fails only once headers are sent, which they are not yet
	return handler(ctx, req)
}

// StreamID is [UnaryID] for streams.
func StreamID(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, md := incomingID(ss.Context())
	_ = ss.SetHeader(md)
	return handler(srv, ctxStream{ss, ctx})
}

// ctxStream is a stream with another context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s ctxStream) Context() context.Context { return s.ctx }
