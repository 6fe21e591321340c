package calllog

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// TestGRPC: at info only failures are logged, with their code, request id
// and their own duration (the middleware gets them after the call); at
// debug every call is.
func TestGRPC(t *testing.T) {
	info := &grpc.UnaryServerInfo{FullMethod: "/lf.a2a.v1.A2AService/GetTask"}
	for _, tt := range []struct {
		level  slog.Level
		err    error
		logged bool
	}{
		{slog.LevelInfo, nil, false},
		{slog.LevelInfo, status.Error(codes.NotFound, "task not found"), true},
		{slog.LevelDebug, nil, true},
		{slog.LevelDebug, status.Error(codes.NotFound, "task not found"), true},
	} {
		var buf bytes.Buffer
		unary, _ := GRPC(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level})))
		ctx := WithID(context.Background(), "rid-1")
		_, err := unary(ctx, "req", info, func(context.Context, any) (any, error) {
			time.Sleep(20 * time.Millisecond)
			return "resp", tt.err
		})
		if err != tt.err {
			t.Errorf("the call's error became %v", err)
		}
		out := buf.String()
		if logged := strings.Contains(out, "finished call"); logged != tt.logged {
			t.Errorf("level %v, error %v: logged %v, want %v:\n%s", tt.level, tt.err, logged, tt.logged, out)
			continue
		}
		if !tt.logged {
			continue
		}
		for _, want := range []string{"grpc.method=GetTask", "request_id=rid-1", "grpc.code=" + status.Code(tt.err).String()} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q:\n%s", want, out)
			}
		}
		m := regexp.MustCompile(`grpc.time_ms=([0-9.]+)`).FindStringSubmatch(out)
		if m == nil {
			t.Errorf("no duration logged:\n%s", out)
			continue
		}
		if ms, _ := strconv.ParseFloat(m[1], 64); ms < 20 {
			t.Errorf("the duration logged is not the call's (>= 20 ms):\n%s", out)
		}
	}
}
