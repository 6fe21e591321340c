package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Client calls one A2A agent over the transport its Agent Card offers that
// the caller prefers most. It is safe for concurrent use, and reuses its
// connections: create one per agent and keep it.
type Client struct {
	card    *a2av1.AgentCard
	choice  choice
	cfg     config
	t       transport
	conn    *grpc.ClientConn // gRPC and mesh only
	tenant  string
	closeFn func() error
}

// New reads the Agent Card at baseURL (see [FetchCard]) and connects to
// the agent it describes.
func New(ctx context.Context, baseURL string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	card, err := fetchCard(ctx, baseURL, &cfg)
	if err != nil {
		return nil, err
	}
	return newClient(card, cfg)
}

// NewFromCard connects to the agent card describes, without fetching
// anything. [WithCardKeys] still verifies the card's signature.
func NewFromCard(card *a2av1.AgentCard, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.cardKeys != nil {
		if err := verifyCard(card, cfg.cardKeys); err != nil {
			return nil, err
		}
	}
	return newClient(proto.Clone(card).(*a2av1.AgentCard), cfg)
}

func newClient(card *a2av1.AgentCard, cfg config) (*Client, error) {
	ch, err := choose(card, cfg.prefs)
	if err != nil {
		return nil, err
	}
	c := &Client{card: card, choice: ch, cfg: cfg, tenant: cfg.tenant}
	if c.tenant == "" {
		c.tenant = ch.iface.GetTenant()
	}
	p := params{headers: headerSource(&c.cfg)}
	switch ch.transport {
	case TransportMesh, TransportGRPC:
		conn, err := c.dial(ch.iface.GetUrl(), card)
		if err != nil {
			return nil, err
		}
		c.conn = conn
		if ch.transport == TransportMesh {
			c.t = newTracedMesh(conn, p, c.cfg.tracer)
		} else {
			c.t = newGRPC(conn, p)
		}
	case TransportREST:
		c.t = newREST(ch.iface.GetUrl(), c.cfg.http(ch.iface.GetUrl()), p)
	case TransportJSONRPC:
		c.t = newJSONRPC(ch.iface.GetUrl(), c.cfg.http(ch.iface.GetUrl()), p)
	default:
		return nil, fmt.Errorf("client: unknown transport %q", ch.transport)
	}
	return c, nil
}

// dial opens the gRPC connection (lazily: grpc connects on first use and
// reconnects by itself).
func (c *Client) dial(raw string, card *a2av1.AgentCard) (*grpc.ClientConn, error) {
	target, wantTLS, err := grpcTarget(raw)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	switch {
	case c.cfg.tls != nil:
		creds = credentials.NewTLS(c.cfg.tls.Clone())
	case wantTLS || anyHTTPS(card):
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		// Pings find a dead connection under a long-lived stream; the
		// server's enforcement allows one every 10 s.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
	if c.cfg.tracer != nil {
		// Health checks (CheckHealth, readiness probes every few seconds)
		// would only fill traces with roots of their own.
		opts = append(opts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(c.cfg.tracer), otelgrpc.WithPropagators(traceContext),
			otelgrpc.WithFilter(filters.Not(filters.HealthCheck())))))
	}
	return grpc.NewClient(target, append(opts, c.cfg.dialOptions...)...)
}

// http is the HTTP client for target: the caller's, or one of our own that
// keeps connections alive and uses the configured TLS.
func (cfg *config) http(target string) *http.Client {
	if cfg.httpClient != nil {
		return cfg.httpClient
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if cfg.tls != nil {
		tr.TLSClientConfig = cfg.tls.Clone()
	}
	var rt http.RoundTripper = tr
	if cfg.tracer != nil {
		rt = otelhttp.NewTransport(tr, otelhttp.WithTracerProvider(cfg.tracer), otelhttp.WithPropagators(traceContext))
	}
	cfg.httpClient, cfg.ownHTTP = &http.Client{Transport: rt}, true
	return cfg.httpClient
}

// bound applies the default timeout to a unary call without a deadline.
func (cfg *config) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || cfg.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, cfg.timeout)
}

// Card returns the Agent Card the client was built from. It must not be
// modified.
func (c *Client) Card() *a2av1.AgentCard { return c.card }

// Transport names the transport in use: [TransportMesh], [TransportGRPC],
// [TransportREST] or [TransportJSONRPC].
func (c *Client) Transport() string { return c.choice.transport }

// URL is the address of the interface in use.
func (c *Client) URL() string { return c.choice.iface.GetUrl() }

// Close releases the client's connections: gRPC calls in flight fail;
// HTTP streams in flight end when their response does. An HTTP client
// given with [WithHTTPClient] is left as it is.
func (c *Client) Close() error {
	err := c.t.close()
	if c.conn != nil {
		err = errors.Join(err, c.conn.Close())
	}
	if hc := c.cfg.httpClient; hc != nil && c.cfg.ownHTTP {
		hc.CloseIdleConnections()
	}
	return err
}

// tenantOf fills the client's tenant into a request that names none.
func (c *Client) tenantOf(t string) string {
	if strings.TrimSpace(t) == "" {
		return c.tenant
	}
	return t
}
