package calllog

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestAccept(t *testing.T) {
	for _, tt := range []struct {
		in   string
		kept bool
	}{
		{"abc-123_x.y:z", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"line\nbreak", false},
		{`quote"`, false},
		{"space here", false},
	} {
		got := accept(tt.in)
		if (got == tt.in) != tt.kept || got == "" {
			t.Errorf("accept(%q) = %q, kept %v", tt.in, got, tt.kept)
		}
	}
	if a, b := NewID(), NewID(); a == b {
		t.Errorf("two ids alike: %q", a)
	}
}

func TestLevels(t *testing.T) {
	for c, want := range map[codes.Code]slog.Level{
		codes.OK: slog.LevelDebug, codes.Canceled: slog.LevelDebug, codes.NotFound: slog.LevelInfo,
		codes.Unauthenticated: slog.LevelInfo, codes.Unavailable: slog.LevelWarn, codes.Internal: slog.LevelError,
	} {
		if got := Level(c); got != want {
			t.Errorf("Level(%v) = %v, want %v", c, got, want)
		}
	}
	for status, want := range map[int]slog.Level{200: slog.LevelDebug, 404: slog.LevelInfo, 503: slog.LevelWarn, 500: slog.LevelError} {
		if got := HTTPLevel(status); got != want {
			t.Errorf("HTTPLevel(%d) = %v, want %v", status, got, want)
		}
	}
}

// TestHTTP: the request log carries the caller's sane id (echoed in the
// response) and the path without the query; flushes reach the client.
func TestHTTP(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var seen string
	h := HTTP(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = ID(r.Context())
		w.WriteHeader(http.StatusTeapot)
		w.(http.Flusher).Flush()
		l.InfoContext(r.Context(), "inside")
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/tasks/t-1?apiKey=SECRET", nil)
	req.Header.Set(Header, "caller-id-1")
	h.ServeHTTP(rec, req.WithContext(context.Background()))
	if seen != "caller-id-1" || rec.Header().Get(Header) != "caller-id-1" {
		t.Errorf("id in context %q, in response %q", seen, rec.Header().Get(Header))
	}
	if !rec.Flushed {
		t.Error("the flush did not reach the writer")
	}
	out := buf.String()
	for _, want := range []string{"msg=inside request_id=caller-id-1", "http.path=/tasks/t-1 ", "http.status=418", "level=INFO"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") {
		t.Errorf("the query string was logged:\n%s", out)
	}
}
