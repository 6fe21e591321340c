package registry

import (
	"context"
	"errors"
	"io"
	"iter"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// Client calls a registry over gRPC. Its errors are *a2agrpc.Error values,
// so errors.Is(err, a2agrpc.ErrAgentNotFound) and the like work. It is safe
// for concurrent use.
type Client struct {
	rc   registryv1.RegistryServiceClient
	conn *grpc.ClientConn // nil when the caller owns the connection
}

// Dial connects to the registry at target (host:port). The connection is
// plaintext unless opts carry transport credentials
// (grpc.WithTransportCredentials); [WithAPIKey] and [WithBearerToken] add
// credentials to every call. Close releases it.
func Dial(target string, opts ...grpc.DialOption) (*Client, error) {
	conn, err := grpc.NewClient(target, append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// A watch sends nothing while nothing changes: without pings, a
		// registry host that vanished without a reset would leave the
		// resolver's watch, and every pool fed by it, stale for ever.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	return &Client{rc: registryv1.NewRegistryServiceClient(conn), conn: conn}, nil
}

// NewClient calls the registry over conn, which stays the caller's.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{rc: registryv1.NewRegistryServiceClient(conn)}
}

// Close closes the connection Dial opened; for NewClient it does nothing.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// Register creates or renews a registration (see
// [Service.RegisterAgent]).
func (c *Client) Register(ctx context.Context, req *registryv1.RegisterAgentRequest) (*registryv1.AgentRegistration, error) {
	reg, err := c.rc.RegisterAgent(ctx, req)
	return reg, callError(err)
}

// Heartbeat renews the lease of agent id.
func (c *Client) Heartbeat(ctx context.Context, id string) (*registryv1.AgentRegistration, error) {
	reg, err := c.rc.Heartbeat(ctx, &registryv1.HeartbeatRequest{AgentId: id})
	return reg, callError(err)
}

// Deregister removes the registration of agent id.
func (c *Client) Deregister(ctx context.Context, id string) error {
	_, err := c.rc.DeregisterAgent(ctx, &registryv1.DeregisterAgentRequest{AgentId: id})
	return callError(err)
}

// Get returns the registration of agent id.
func (c *Client) Get(ctx context.Context, id string) (*registryv1.AgentRegistration, error) {
	reg, err := c.rc.GetAgent(ctx, &registryv1.GetAgentRequest{AgentId: id})
	return reg, callError(err)
}

// Search yields every registration matching filter, ordered by agent_id,
// fetching pages of pageSize (0: the registry's default) as the loop goes
// on. An error ends the sequence after it is yielded.
func (c *Client) Search(ctx context.Context, filter *registryv1.AgentFilter, pageSize int32) iter.Seq2[*registryv1.AgentRegistration, error] {
	return func(yield func(*registryv1.AgentRegistration, error) bool) {
		req := &registryv1.SearchAgentsRequest{Filter: filter, PageSize: pageSize}
		for {
			resp, err := c.rc.SearchAgents(ctx, req)
			if err != nil {
				yield(nil, callError(err))
				return
			}
			for _, r := range resp.GetAgents() {
				if !yield(r, nil) {
					return
				}
			}
			if resp.GetNextPageToken() == "" {
				return
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
}

// Watch yields the events of a watch of filter (see
// [Service.WatchAgents]) until ctx ends, the loop stops, or the stream
// fails; a failure is yielded as the last element (UNAVAILABLE: watch
// again). Ending the loop or ctx closes the stream.
func (c *Client) Watch(ctx context.Context, filter *registryv1.AgentFilter) iter.Seq2[*registryv1.WatchAgentsResponse, error] {
	return func(yield func(*registryv1.WatchAgentsResponse, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.rc.WatchAgents(ctx, &registryv1.WatchAgentsRequest{Filter: filter})
		if err != nil {
			yield(nil, callError(err))
			return
		}
		for {
			ev, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, callError(err))
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// callError decodes a call's gRPC status into an *a2agrpc.Error.
func callError(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return a2agrpc.FromStatus(st)
	}
	return a2agrpc.AsError(err)
}

// WithAPIKey sends key in header (lower-cased as gRPC metadata; "" is
// auth.DefaultAPIKeyHeader) on every call of a [Dial]ed client.
func WithAPIKey(header, key string) grpc.DialOption {
	if header == "" {
		header = "x-api-key"
	}
	return grpc.WithPerRPCCredentials(staticCreds{header: key})
}

// WithBearerToken sends "Authorization: Bearer token" on every call of a
// [Dial]ed client.
func WithBearerToken(token string) grpc.DialOption {
	return grpc.WithPerRPCCredentials(staticCreds{"authorization": "Bearer " + token})
}

// staticCreds are fixed per-call credentials. They are sent on plaintext
// connections too, as the a2agrpc client does: loopback and sidecar
// deployments have TLS outside the process.
type staticCreds map[string]string

var _ credentials.PerRPCCredentials = staticCreds(nil)

func (s staticCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	out := make(map[string]string, len(s))
	for k, v := range s {
		out[strings.ToLower(k)] = v
	}
	return out, nil
}

func (staticCreds) RequireTransportSecurity() bool { return false }
