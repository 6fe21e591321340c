package client_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// countingSource hands out a fresh token on every call, as a token
// source that refreshes would.
type countingSource struct {
	secret []byte
	calls  int
}

func (s *countingSource) Token() (*oauth2.Token, error) {
	s.calls++
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "aud": "a2a-test", "exp": time.Now().Add(time.Minute).Unix(),
	}).SignedString(s.secret)
	return &oauth2.Token{AccessToken: tok, TokenType: "Bearer"}, err
}

// TestBearerTokenSource: a token source's bearer token authenticates
// every transport, and the caller owns the tasks it creates; without a
// token the agent refuses with ErrUnauthenticated.
func TestBearerTokenSource(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-test-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bearer, err := auth.NewBearer(ctx, auth.BearerConfig{HS256Secret: secret, Audience: []string{"a2a-test"}})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{Bearer: bearer})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := host.Start(&recorder{}, host.Config{
		Card: echo.Card(nil),
		GRPC: []grpcserver.Option{grpcserver.WithInterceptors(authn.GRPCInterceptors()), grpcserver.WithIdentity(auth.Identity)},
		HTTP: []httpserver.Option{httpserver.WithAuth(authn.HTTP), httpserver.WithIdentity(auth.HTTPIdentity)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Shutdown(context.Background()) })
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			src := &countingSource{secret: secret}
			c := dial(t, agent, tr, client.WithTokenSource(src))
			resp, err := c.SendMessage(ctx, send("authenticated"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: resp.GetTask().GetId()}); err != nil {
				t.Errorf("GetTask of its own task: %v", err)
			}
			if src.calls == 0 {
				t.Error("the token source was never asked")
			}
			anon, err := client.NewFromCard(agent.Card(), client.WithTransports(tr))
			if err != nil {
				t.Fatal(err)
			}
			defer anon.Close()
			if _, err := anon.SendMessage(ctx, send("anonymous")); !errors.Is(err, a2agrpc.ErrUnauthenticated) {
				t.Errorf("without a token: %v, want ErrUnauthenticated", err)
			}
		})
	}
}

// shortLivedSource mints a token valid for two seconds on every call.
type shortLivedSource struct {
	secret []byte
	calls  atomic.Int32
}

func (s *shortLivedSource) Token() (*oauth2.Token, error) {
	s.calls.Add(1)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "aud": "a2a-test", "exp": time.Now().Add(2 * time.Second).Unix(),
	}).SignedString(s.secret)
	return &oauth2.Token{AccessToken: tok, TokenType: "Bearer"}, err
}

// TestStreamOutlivesItsToken: the server ends a stream when the token that
// opened it expires; a client with a token source resumes it with a fresh
// token, so the caller sees the task through to its end on every transport.
func TestStreamOutlivesItsToken(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-test-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel) // not deferred: the parallel subtests run after this function returns
	bearer, err := auth.NewBearer(ctx, auth.BearerConfig{HS256Secret: secret, Audience: []string{"a2a-test"}, Leeway: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{Bearer: bearer})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := host.Start(echo.Executor, host.Config{
		Card: echo.Card(nil),
		GRPC: []grpcserver.Option{grpcserver.WithInterceptors(authn.GRPCInterceptors()), grpcserver.WithIdentity(auth.Identity)},
		HTTP: []httpserver.Option{httpserver.WithAuth(authn.HTTP), httpserver.WithIdentity(auth.HTTPIdentity)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Bounded: a failed run leaves its held task running.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		agent.Shutdown(sctx)
	})
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			src := &shortLivedSource{secret: secret}
			c := dial(t, agent, tr, client.WithTokenSource(src))
			var last *a2av1.StreamResponse
			canceled := make(chan error, 1)
			var streamErr error
			for ev, err := range c.SendStreamingMessage(ctx, send(echo.Hold)) {
				if err != nil {
					streamErr = err
					break
				}
				if last == nil {
					// Cancel once two tokens have certainly expired and
					// the stream has been resumed twice.
					id := ev.GetTask().GetId()
					timer := time.AfterFunc(5*time.Second, func() {
						_, err := c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: id})
						canceled <- err
					})
					t.Cleanup(func() { timer.Stop() })
				}
				last = ev
			}
			if streamErr != nil {
				t.Fatalf("stream failed after %d tokens: %v", src.calls.Load(), streamErr)
			}
			if err := <-canceled; err != nil {
				t.Fatalf("cancel: %v", err)
			}
			if got := last.GetStatusUpdate().GetStatus().GetState(); got != a2av1.TaskState_TASK_STATE_CANCELED {
				t.Fatalf("last event %v, want the CANCELED status", last)
			}
			// The send and at least two resumptions with fresh tokens.
			if n := src.calls.Load(); n < 3 {
				t.Errorf("the token source was asked %d times; the stream was not resumed", n)
			}
		})
	}
}
