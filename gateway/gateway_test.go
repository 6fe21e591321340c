package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	"github.com/a2agrpc/a2agrpc/gateway"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/host"
)

// fronted starts a gRPC-only agent that requires an API key, and a gateway
// in front of it; it returns the gateway's base URL and the key.
func fronted(t *testing.T) (string, string) {
	t.Helper()
	key, err := auth.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseAPIKeys(strings.NewReader("tester " + auth.HashAPIKey(key) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{APIKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	upstream, err := host.Start(echo.Executor, host.Config{
		HTTPAddr: "-", Card: echo.Card(nil),
		GRPC: []grpcserver.Option{grpcserver.WithInterceptors(authn.GRPCInterceptors()), grpcserver.WithIdentity(auth.Identity)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { upstream.Shutdown(context.Background()) })

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + lis.Addr().String()
	card := echo.Card([]*a2av1.AgentInterface{
		{Url: base, ProtocolBinding: a2agrpc.BindingREST, ProtocolVersion: a2agrpc.ProtocolVersion},
		{Url: base + "/jsonrpc", ProtocolBinding: a2agrpc.BindingJSONRPC, ProtocolVersion: a2agrpc.ProtocolVersion},
	})
	remote, err := gateway.NewRemote(upstream.Card(), card)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remote.Close() })
	h, err := gateway.New(remote, nil)
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go web.Serve(lis)
	t.Cleanup(func() { web.Close() })
	return base, key
}

func text(s string) *a2av1.SendMessageRequest {
	return &a2av1.SendMessageRequest{Message: &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER,
		Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: s}}}}}
}

// TestGateway drives the gateway with the client over HTTP+JSON and
// JSON-RPC: every call reaches the gRPC agent with the caller's API key,
// streams arrive as SSE, the agent's errors come back typed.
func TestGateway(t *testing.T) {
	base, key := fronted(t)
	for _, tr := range []string{client.TransportREST, client.TransportJSONRPC} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := client.New(ctx, base, client.WithTransports(tr), client.WithAPIKey("", key))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			resp, err := c.SendMessage(ctx, text("through the gateway"))
			if err != nil {
				t.Fatal(err)
			}
			task := resp.GetTask()
			if task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
				t.Fatalf("SendMessage = %v", resp)
			}
			var kinds []string
			for ev, err := range c.SendStreamingMessage(ctx, text("abc")) {
				if err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, fmt.Sprintf("%T", ev.GetPayload()))
			}
			if len(kinds) != 5 {
				t.Errorf("stream through the gateway: %v", kinds)
			}
			if got, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId()}); err != nil || got.GetId() != task.GetId() {
				t.Errorf("GetTask = %v, %v", got, err)
			}
			if page, err := c.ListTasks(ctx, &a2av1.ListTasksRequest{}); err != nil || len(page.GetTasks()) < 2 {
				t.Errorf("ListTasks = %v, %v", page, err)
			}
			if _, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: "nope"}); !errors.Is(err, a2agrpc.ErrTaskNotFound) {
				t.Errorf("GetTask(unknown) = %v", err)
			}
			if _, err := c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: task.GetId()}); !errors.Is(err, a2agrpc.ErrTaskNotCancelable) {
				t.Errorf("CancelTask(completed) = %v", err)
			}

			anon, err := client.New(ctx, base, client.WithTransports(tr))
			if err != nil {
				t.Fatal(err)
			}
			defer anon.Close()
			if _, err := anon.SendMessage(ctx, text("no key")); !errors.Is(err, a2agrpc.ErrUnauthenticated) {
				t.Errorf("SendMessage without the key = %v, want ErrUnauthenticated", err)
			}
		})
	}
}

// TestGatewayCurlShape: a plain HTTP client sees the spec's shapes: the
// card, a 404 AIP-193 body, and SSE for a stream.
func TestGatewayCurlShape(t *testing.T) {
	base, key := fronted(t)
	get := func(method, path, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get(http.MethodGet, "/.well-known/agent-card.json", ""); resp.StatusCode != 200 || !strings.Contains(body, base) {
		t.Errorf("card: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(http.MethodGet, "/tasks/nope", ""); resp.StatusCode != 404 || !strings.Contains(body, `"TASK_NOT_FOUND"`) {
		t.Errorf("unknown task: %d %s", resp.StatusCode, body)
	}
	resp, body := get(http.MethodPost, "/message:stream", `{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"sse"}]}}`)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") || strings.Count(body, "data: ") != 5 {
		t.Errorf("stream: %s\n%s", ct, body)
	}
}
