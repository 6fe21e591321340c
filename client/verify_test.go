package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/cardsign"
	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// TestCardVerification: with WithCardKeys the client accepts a card signed
// by a trusted key and refuses an unsigned one or one signed by another
// key, before connecting.
func TestCardVerification(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := cardsign.NewSigner(key, "agent-key")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := host.Start(&recorder{}, host.Config{Card: echo.Card(nil), PrepareCard: func(c *a2av1.AgentCard) (*a2av1.AgentCard, error) {
		return cardsign.Sign(c, signer)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { signed.Shutdown(context.Background()) })
	unsigned := serve(t, &recorder{})

	trusted := cardsign.NewKeySet()
	if err := trusted.Add("agent-key", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stranger := cardsign.NewKeySet()
	if err := stranger.Add("agent-key", &other.PublicKey); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.New(ctx, signed.URL(), client.WithCardKeys(trusted))
	if err != nil {
		t.Fatalf("signed card refused: %v", err)
	}
	if _, err := c.SendMessage(ctx, send("verified")); err != nil {
		t.Error(err)
	}
	c.Close()
	if _, err := client.New(ctx, unsigned.URL(), client.WithCardKeys(trusted)); !errors.Is(err, cardsign.ErrUnsigned) {
		t.Errorf("unsigned card: %v, want ErrUnsigned", err)
	}
	if _, err := client.New(ctx, signed.URL(), client.WithCardKeys(stranger)); !errors.Is(err, cardsign.ErrInvalidSignature) {
		t.Errorf("card signed by another key: %v, want ErrInvalidSignature", err)
	}
	if _, err := client.NewFromCard(unsigned.Card(), client.WithCardKeys(trusted)); !errors.Is(err, cardsign.ErrUnsigned) {
		t.Errorf("NewFromCard with an unsigned card: %v", err)
	}
}

// TestTraceContext: the caller's span context reaches the agent as a W3C
// traceparent header on every call of the HTTP transports and as metadata
// over gRPC.
func TestTraceContext(t *testing.T) {
	seen := make(chan string, 100)
	h, err := server.NewHandler(&recorder{}, server.WithAgentCard(echo.Card(nil)))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + lis.Addr().String()
	hs, err := httpserver.New(h)
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != httpserver.WellKnownCardPath {
			seen <- r.Header.Get("traceparent")
		}
		hs.ServeHTTP(w, r)
	})}
	go web.Serve(lis)
	t.Cleanup(func() { web.Close(); h.Close(context.Background()) })
	card := echo.Card([]*a2av1.AgentInterface{
		{Url: base, ProtocolBinding: a2agrpc.BindingREST, ProtocolVersion: "1.0"},
		{Url: base + httpserver.JSONRPCPath, ProtocolBinding: a2agrpc.BindingJSONRPC, ProtocolVersion: "1.0"},
	})
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, tr := range []string{client.TransportREST, client.TransportJSONRPC} {
		c, err := client.NewFromCard(card, client.WithTransports(tr))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.SendMessage(ctx, send("traced"))
		if err != nil {
			t.Fatal(err)
		}
		for range c.SendStreamingMessage(ctx, send("traced stream")) {
		}
		if _, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: resp.GetTask().GetId()}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		for range 3 {
			if got := <-seen; !strings.HasPrefix(got, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-") {
				t.Errorf("%s: traceparent %q", tr, got)
			}
		}
	}
}

// traceRecorder is the echo agent noting the traceparent its call came with.
type traceRecorder struct{ seen chan string }

func (r traceRecorder) Execute(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	md, _ := metadata.FromIncomingContext(ctx)
	r.seen <- strings.Join(md.Get("traceparent"), ",")
	return echo.Executor.Execute(ctx, req, w)
}

// TestTraceContextGRPC: over gRPC and over each request of the mesh
// stream, the agent sees the caller's trace context in its metadata.
func TestTraceContextGRPC(t *testing.T) {
	rec := traceRecorder{seen: make(chan string, 10)}
	agent := serve(t, rec)
	for i, tr := range []string{client.TransportGRPC, client.TransportMesh} {
		c := dial(t, agent, tr)
		tid, _ := trace.TraceIDFromHex(fmt.Sprintf("4bf92f3577b34da6a3ce929d0e0e473%d", i))
		sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
		for j := range 2 { // the mesh stream's second request too
			sid[7] = byte(j)
			ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
			if _, err := c.SendMessage(ctx, send("traced")); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("00-%s-%s-01", tid, sid)
			if got := <-rec.seen; got != want {
				t.Errorf("%s call %d: the agent saw traceparent %q, want %q", tr, j, got, want)
			}
		}
	}
}
