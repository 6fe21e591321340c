package client_test

import (
	"context"
	"errors"
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
