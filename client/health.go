package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/a2agrpc/a2agrpc"
)

// ErrNoHealthService is matched (errors.Is) by the error of
// [Client.CheckHealth] when a gRPC agent answers but serves no
// grpc.health.v1 service: it is reachable, but says nothing about its
// health. A2A does not require the health service, so agents in other
// languages often lack it; the caller decides what that means (a gateway's
// readiness counts it as healthy).
var ErrNoHealthService = errors.New("client: the agent serves no grpc.health.v1 service")

// CheckHealth asks whether the agent can take calls now, for readiness
// checks of whatever stands in front of it. It sends no credentials: health
// is public on a2agrpc servers, and a probe should not spread secrets.
// Nothing is retried, since the answer is about this moment; the client's
// default timeout applies when ctx has no deadline.
//
// Over gRPC and the mesh it asks grpc.health.v1 on the client's connection
// for the server as a whole (service ""): nil when SERVING, an
// [a2agrpc.ErrUnavailable] error when the agent reports anything else or
// cannot be reached, and [ErrNoHealthService] when it has no health
// service.
//
// The HTTP bindings have no health protocol, so over HTTP+JSON and
// JSON-RPC it reads the well-known Agent Card at the origin (scheme and
// host) of the interface URL, where A2A places it. Any answer below 500
// counts as healthy: the server is up and answering, even if the card
// lives under a path prefix (404) or needs credentials (401). A 5xx, which
// is what a proxy answers when the agent behind it is gone, and a failure
// to connect are [a2agrpc.ErrUnavailable] errors. An interface URL without an http(s) origin cannot
// be checked this way, and CheckHealth returns nil for it rather than a
// verdict it has no ground for.
func (c *Client) CheckHealth(ctx context.Context) error {
	ctx, cancel := c.cfg.bound(ctx)
	defer cancel()
	if c.conn != nil {
		return c.checkGRPCHealth(ctx)
	}
	return c.checkHTTPHealth(ctx)
}

func (c *Client) checkGRPCHealth(ctx context.Context) error {
	resp, err := healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		if status.Code(err) == codes.Unimplemented {
			return fmt.Errorf("%w: %w", ErrNoHealthService, grpcError(ctx, err))
		}
		return grpcError(ctx, err)
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return a2agrpc.Errorf(a2agrpc.ReasonUnavailable, "client: the agent reports %s", s)
	}
	return nil
}

func (c *Client) checkHTTPHealth(ctx context.Context) error {
	u, err := url.Parse(c.URL())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	target := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: WellKnownCardPath}).String()
	req, err := newHTTPRequest(ctx, params{}, http.MethodGet, target, nil, "", a2agrpc.MediaTypeJSON)
	if err != nil {
		return err
	}
	resp, body, err := exchange(ctx, c.cfg.http(target), req)
	if err != nil {
		return err
	}
	if resp.StatusCode >= http.StatusInternalServerError {
		// Whatever the body says, the verdict is "not now".
		e := httpError(resp, body)
		return a2agrpc.Errorf(a2agrpc.ReasonUnavailable, "client: the Agent Card at %s: %v", target, e).WithCause(e)
	}
	return nil
}
