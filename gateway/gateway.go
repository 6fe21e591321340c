// Package gateway fronts an A2A agent reached over gRPC — in any language —
// with the HTTP bindings: HTTP+JSON with SSE, JSON-RPC 2.0 and the Agent
// Card, exactly as httpserver serves an in-process agent. A [Remote] is a
// [server.API] that forwards every operation to the agent through the
// a2agrpc client; [New] puts it behind httpserver.
//
// The gateway holds no task state and authenticates nobody itself: each
// caller's credentials (Authorization, the API key header), A2A-Version,
// A2A-Extensions and W3C trace context are passed on to the agent, which
// decides. Its errors come back in the HTTP shape of the binding called.
package gateway

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// DefaultForward are the request headers passed on to the agent besides
// A2A-Version and A2A-Extensions.
var DefaultForward = []string{"Authorization", client.DefaultAPIKeyHeader, "traceparent", "tracestate"}

// Remote is the agent behind the gateway, as a [server.API]: one agent
// ([NewRemote]) or a pool of agents behind a router ([NewPool]).
type Remote struct {
	a     router.Agent
	card  *a2av1.AgentCard
	ping  func(context.Context) error
	close func() error
}

var _ server.API = (*Remote)(nil)

// NewRemote connects to the gRPC agent that agent describes (its GRPC
// interface is used) and will serve card as the public Agent Card. Options
// configure the connection (TLS/mTLS to the agent, retries, timeouts);
// per-call credentials come from each HTTP request.
func NewRemote(agent, card *a2av1.AgentCard, opts ...client.Option) (*Remote, error) {
	// Each call is bounded by its HTTP request, not by the client's default
	// timeout: a blocking send may legitimately take minutes.
	opts = append([]client.Option{client.WithTimeout(0)}, opts...)
	c, err := client.NewFromCard(agent, append(opts, client.WithTransports(client.TransportGRPC))...)
	if err != nil {
		return nil, err
	}
	return &Remote{a: c, card: card, ping: c.CheckHealth, close: c.Close}, nil
}

// NewPool fronts a pool of agents as one: every call goes through pool, a
// route of a router (see package router), which picks the agent, balances,
// retries what is safe to retry and fails over. card is served as the
// public Agent Card. ready reports whether the pool can take calls (at
// least one agent offers the capability), for the gateway's readiness.
// Close leaves the router open: it is the caller's.
func NewPool(pool router.Agent, card *a2av1.AgentCard, ready func(context.Context) error) *Remote {
	return &Remote{a: pool, card: card, ping: ready, close: func() error { return nil }}
}

// Close closes the connection to the agent.
func (r *Remote) Close() error { return r.close() }

// pingTimeout bounds a Ping whose context has no deadline: the remote's
// client has no default timeout (calls are bounded by their requests), and
// a readiness probe must not hang on an agent that does not answer.
const pingTimeout = 2 * time.Second

// Ping reports whether the agent can take calls now, for the gateway's
// readiness: a gateway whose agent is gone can only fail its callers, so
// it should get none. It asks the agent's grpc.health.v1 service (see
// [client.Client.CheckHealth]): SERVING is ready; NOT_SERVING (the agent is
// shutting down, or its task store is unreachable) and a failure to reach
// the agent are not. An agent that answers without serving the health
// service, as agents in other languages may, is up and counts as ready.
// A pool ([NewPool]) is ready as its ready function says.
func (r *Remote) Ping(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pingTimeout)
		defer cancel()
	}
	if err := r.ping(ctx); err != nil && !errors.Is(err, client.ErrNoHealthService) {
		return err
	}
	return nil
}

// New returns the HTTP handler of the gateway: httpserver over remote,
// with the headers named in forward (DefaultForward if nil) passed on.
func New(remote *Remote, forward []string, opts ...httpserver.Option) (*Handler, error) {
	if forward == nil {
		forward = DefaultForward
	}
	hs, err := httpserver.New(remote, opts...)
	if err != nil {
		return nil, err
	}
	return &Handler{hs: hs, forward: forward}, nil
}

// Handler is the gateway's HTTP side.
type Handler struct {
	hs      *httpserver.Server
	forward []string
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	fwd := make(map[string]string, len(h.forward))
	for _, name := range h.forward {
		if v := req.Header.Get(name); v != "" {
			fwd[name] = v
		}
	}
	if len(fwd) > 0 {
		req = req.WithContext(client.WithCallHeaders(req.Context(), fwd))
	}
	h.hs.ServeHTTP(w, req)
}

// Drain ends the SSE streams that only follow a task with an UNAVAILABLE
// event, so clients resubscribe through another gateway and
// http.Server.Shutdown is not held up by them (see
// [httpserver.Server.Drain]). Call it first when shutting down.
func (h *Handler) Drain() { h.hs.Drain() }

// Close drains and unregisters the gateway's metrics (see
// [httpserver.Server.Close]); call it once the http.Server has shut down.
func (h *Handler) Close() { h.hs.Close() }

// call passes the service parameters httpserver read from the request
// (A2A-Version, A2A-Extensions) on to the agent.
func call(ctx context.Context) context.Context {
	info := server.CallInfoFrom(ctx)
	if len(info.Extensions) > 0 {
		ctx = client.WithCallExtensions(ctx, info.Extensions...)
	}
	if v := strings.TrimSpace(info.Version); v != "" {
		ctx = client.WithCallHeaders(ctx, map[string]string{a2agrpc.HeaderVersion: v})
	}
	return ctx
}

// events adapts a client stream. gRPC carries no event ids, so events have
// none (Seq 0): a resuming SSE client gets the task's current state.
func events(s iter.Seq2[*a2av1.StreamResponse, error]) iter.Seq2[server.Event, error] {
	return func(yield func(server.Event, error) bool) {
		for ev, err := range s {
			if !yield(server.Event{Response: ev}, err) || err != nil {
				return
			}
		}
	}
}

// AgentCard is the card the gateway serves.
func (r *Remote) AgentCard() *a2av1.AgentCard { return r.card }

func (r *Remote) SendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	return r.a.SendMessage(call(ctx), req)
}

func (r *Remote) SendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) iter.Seq2[server.Event, error] {
	return events(r.a.SendStreamingMessage(call(ctx), req))
}

func (r *Remote) GetTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error) {
	return r.a.GetTask(call(ctx), req)
}

func (r *Remote) ListTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error) {
	return r.a.ListTasks(call(ctx), req)
}

func (r *Remote) CancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error) {
	return r.a.CancelTask(call(ctx), req)
}

func (r *Remote) SubscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest) iter.Seq2[server.Event, error] {
	return events(r.a.SubscribeToTask(call(ctx), req))
}

// ResubscribeToTask subscribes afresh: the events the gateway relays have
// no ids to resume after.
func (r *Remote) ResubscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest, _ int64) iter.Seq2[server.Event, error] {
	return r.SubscribeToTask(ctx, req)
}

func (r *Remote) CreateTaskPushNotificationConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	return r.a.CreateTaskPushNotificationConfig(call(ctx), req)
}

func (r *Remote) GetTaskPushNotificationConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error) {
	return r.a.GetTaskPushNotificationConfig(call(ctx), req)
}

func (r *Remote) ListTaskPushNotificationConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
	return r.a.ListTaskPushNotificationConfigs(call(ctx), req)
}

func (r *Remote) DeleteTaskPushNotificationConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) (*emptypb.Empty, error) {
	if err := r.a.DeleteTaskPushNotificationConfig(call(ctx), req); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (r *Remote) GetExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error) {
	return r.a.GetExtendedAgentCard(call(ctx), req)
}
