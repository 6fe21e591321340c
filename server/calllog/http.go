package calllog

import (
	"log/slog"
	"net/http"
	"time"
)

// HTTP logs every request next serves to l, once it is answered (a
// stream, once it ends): method, path without the query, status, bytes
// written, duration, remote address and request id, at the level
// [HTTPLevel] gives the status. The request's context carries the id, and
// the response its X-Request-Id header.
func HTTP(l *slog.Logger, next http.Handler) http.Handler {
	l = Logger(l)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := accept(r.Header.Get(Header))
		w.Header().Set(Header, id)
		ctx := WithID(r.Context(), id)
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(ctx))
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		level := HTTPLevel(status)
		if !l.Enabled(ctx, level) {
			return
		}
		l.LogAttrs(ctx, level, "finished request",
			slog.String("http.method", r.Method),
			slog.String("http.path", r.URL.Path),
			slog.Int("http.status", status),
			slog.Int64("http.bytes", rec.bytes),
			slog.Float64("http.time_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("peer.address", r.RemoteAddr),
		)
	})
}

// HTTPLevel is the level of a request answered with status, on the same
// scale as [Level]: debug for success, info for client errors, warn for
// 503 and 504, error for other server errors.
func HTTPLevel(status int) slog.Level {
	switch {
	case status < 400:
		return slog.LevelDebug
	case status < 500:
		return slog.LevelInfo
	case status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// recorder notes the status and size of a response. It passes flushes on
// (SSE needs them) and unwraps for http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
