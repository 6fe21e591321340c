package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
)

// healthClient connects to the agent of card over transport, reconnecting
// quickly after a server restart.
func healthClient(t *testing.T, card *a2av1.AgentCard, transport string, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{
		WithTransports(transport),
		WithDialOptions(grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.5, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: time.Second,
		})),
	}, opts...)
	c, err := NewFromCard(card, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Transport() != transport {
		t.Fatalf("client chose %s, want %s", c.Transport(), transport)
	}
	return c
}

// checkSoon is CheckHealth bounded by a short deadline, so that a test
// about an unreachable agent does not wait for the default timeout.
func checkSoon(c *Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.CheckHealth(ctx)
}

// TestCheckHealthGRPC: over gRPC and the mesh, CheckHealth follows the
// server's grpc.health.v1 status (SetServing) and reachability, and
// recovers when the server is back.
func TestCheckHealthGRPC(t *testing.T) {
	for _, tr := range []string{TransportGRPC, TransportMesh} {
		t.Run(tr, func(t *testing.T) {
			ts := startGRPC(t, grpcSetup{})
			card := grpcTestCard()
			card.SupportedInterfaces = []*a2av1.AgentInterface{{Url: ts.addr, ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: a2agrpc.ProtocolVersion}}
			c := healthClient(t, card, tr)
			setServing := func(on bool) {
				ts.mu.Lock()
				defer ts.mu.Unlock()
				ts.srv.SetServing(on)
			}

			if err := checkSoon(c); err != nil {
				t.Fatalf("serving agent: %v", err)
			}
			setServing(false)
			err := checkSoon(c)
			if !errors.Is(err, a2agrpc.ErrUnavailable) || !strings.Contains(err.Error(), "NOT_SERVING") {
				t.Fatalf("agent reporting NOT_SERVING: %v, want UNAVAILABLE naming the status", err)
			}
			if errors.Is(err, ErrNoHealthService) {
				t.Errorf("NOT_SERVING matched ErrNoHealthService: %v", err)
			}
			setServing(true)
			if err := checkSoon(c); err != nil {
				t.Fatalf("agent serving again: %v", err)
			}

			ts.stop(t)
			if err := checkSoon(c); !errors.Is(err, a2agrpc.ErrUnavailable) {
				t.Fatalf("stopped agent: %v, want UNAVAILABLE", err)
			}
			ts.restart(t)
			grpcEventually(t, "health after a restart", func() error { return checkSoon(c) })
		})
	}
}

// TestCheckHealthNoHealthService: a gRPC server without grpc.health.v1 (as
// agents in other languages may be) is reported as such, and not as
// unavailable.
func TestCheckHealthNoHealthService(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bare := grpc.NewServer()
	done := make(chan error, 1)
	go func() { done <- bare.Serve(lis) }()
	t.Cleanup(func() {
		bare.Stop()
		if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("Serve: %v", err)
		}
	})
	card := &a2av1.AgentCard{Name: "bare", SupportedInterfaces: []*a2av1.AgentInterface{
		{Url: lis.Addr().String(), ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: a2agrpc.ProtocolVersion}}}
	c := healthClient(t, card, TransportGRPC)
	err = checkSoon(c)
	if !errors.Is(err, ErrNoHealthService) {
		t.Fatalf("agent without a health service: %v, want ErrNoHealthService", err)
	}
	if errors.Is(err, a2agrpc.ErrUnavailable) {
		t.Errorf("agent without a health service reported unavailable: %v", err)
	}
}

// cardProbe is an HTTP server that records the requests for the
// well-known card and answers them with a settable status.
type cardProbe struct {
	url    string
	status atomic.Int64

	mu   sync.Mutex
	seen []*http.Request
}

func startCardProbe(t *testing.T) *cardProbe {
	t.Helper()
	p := &cardProbe{}
	p.status.Store(http.StatusOK)
	p.url = listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Clone(context.Background()))
		p.mu.Unlock()
		code := int(p.status.Load())
		if r.URL.Path != WellKnownCardPath {
			code = http.StatusNotFound
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(`{"name":"probe"}`))
	}))
	return p
}

func (p *cardProbe) last(t *testing.T) *http.Request {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.seen) == 0 {
		t.Fatal("no request reached the server")
	}
	return p.seen[len(p.seen)-1]
}

// TestCheckHealthHTTP: over HTTP+JSON and JSON-RPC, CheckHealth reads the
// card at the interface URL's origin without credentials; a server that
// answers is healthy, a 5xx or a refused connection is not.
func TestCheckHealthHTTP(t *testing.T) {
	t.Run("a2agrpc server", func(t *testing.T) {
		srv := startHTTP(t)
		card := testCard()
		card.SupportedInterfaces = []*a2av1.AgentInterface{
			{Url: srv.url, ProtocolBinding: a2agrpc.BindingREST, ProtocolVersion: a2agrpc.ProtocolVersion},
			{Url: srv.url + "/jsonrpc", ProtocolBinding: a2agrpc.BindingJSONRPC, ProtocolVersion: a2agrpc.ProtocolVersion},
		}
		for _, tr := range []string{TransportREST, TransportJSONRPC} {
			if err := checkSoon(healthClient(t, card, tr)); err != nil {
				t.Errorf("%s: %v", tr, err)
			}
		}
	})

	p := startCardProbe(t)
	card := testCard()
	card.SupportedInterfaces = []*a2av1.AgentInterface{
		{Url: p.url + "/agents/one/jsonrpc", ProtocolBinding: a2agrpc.BindingJSONRPC, ProtocolVersion: a2agrpc.ProtocolVersion}}
	c := healthClient(t, card, TransportJSONRPC, WithAPIKey("", "KEY-not-for-probes"), WithBearerToken("TOKEN-not-for-probes"))
	if err := checkSoon(c); err != nil {
		t.Fatalf("card answered 200: %v", err)
	}
	req := p.last(t)
	if req.URL.Path != WellKnownCardPath || req.Method != http.MethodGet {
		t.Errorf("the check asked %s %s, want GET %s at the origin", req.Method, req.URL.Path, WellKnownCardPath)
	}
	if req.Header.Get("Authorization") != "" || req.Header.Get(DefaultAPIKeyHeader) != "" {
		t.Errorf("the check sent credentials: %v", req.Header)
	}
	for _, code := range []int{http.StatusNotFound, http.StatusUnauthorized} {
		p.status.Store(int64(code))
		if err := checkSoon(c); err != nil {
			t.Errorf("server answering %d: %v, want healthy (it answers)", code, err)
		}
	}
	for _, code := range []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusInternalServerError} {
		p.status.Store(int64(code))
		if err := checkSoon(c); !errors.Is(err, a2agrpc.ErrUnavailable) {
			t.Errorf("server answering %d: %v, want UNAVAILABLE", code, err)
		}
	}

	// Nobody listening.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + lis.Addr().String()
	lis.Close()
	card.SupportedInterfaces[0].Url = gone
	if err := checkSoon(healthClient(t, card, TransportJSONRPC)); !errors.Is(err, a2agrpc.ErrUnavailable) {
		t.Errorf("nobody listening: %v, want UNAVAILABLE", err)
	}
}

// TestCheckHealthIsNotTraced: health checks, which probes make every few
// seconds, record no spans on either side; a real call still does.
func TestCheckHealthIsNotTraced(t *testing.T) {
	serverSpans, clientSpans := tracetest.NewInMemoryExporter(), tracetest.NewInMemoryExporter()
	ts := startGRPC(t, grpcSetup{grpc: []grpcserver.Option{
		grpcserver.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(serverSpans))),
	}})
	card := grpcTestCard()
	card.SupportedInterfaces = []*a2av1.AgentInterface{{Url: ts.addr, ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: a2agrpc.ProtocolVersion}}
	c := healthClient(t, card, TransportGRPC, WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(clientSpans))))
	for range 3 {
		if err := checkSoon(c); err != nil {
			t.Fatal(err)
		}
	}
	if n, m := len(clientSpans.GetSpans()), len(serverSpans.GetSpans()); n != 0 || m != 0 {
		t.Errorf("health checks recorded %d client and %d server spans, want none", n, m)
	}
	if _, err := c.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: "no-such-task"}); err == nil {
		t.Fatal("GetTask of an unknown task succeeded")
	}
	// The server's span ends just after the answer leaves.
	grpcEventually(t, "spans of a real call", func() error {
		if len(clientSpans.GetSpans()) == 0 || len(serverSpans.GetSpans()) == 0 {
			return errors.New("a call after the health checks recorded no spans: tracing is off")
		}
		return nil
	})
}
