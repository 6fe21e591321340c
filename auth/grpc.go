package auth

import (
	"context"
	"crypto/x509"
	"strings"

	middleware "github.com/grpc-ecosystem/go-grpc-middleware/v2"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// GRPCInterceptors returns the unary and stream interceptors that
// authenticate every call except the grpc.health.v1 service (load balancers
// and orchestrators probe it without credentials). They are go-grpc-
// middleware's auth interceptors behind its selector; give them to
// grpcserver.WithInterceptors, outermost, together with
// grpcserver.WithIdentity([Identity]).
//
// A stream lives no longer than the credential that opened it: when the
// token or client certificate expires, or the CA bundle changes and the
// certificate no longer verifies, the stream ends with UNAUTHENTICATED and
// the client reconnects with a fresh one. Without that a mesh stream opened
// with a five-minute token would act for hours.
func (a *Authenticator) GRPCInterceptors() ([]grpc.UnaryServerInterceptor, []grpc.StreamServerInterceptor) {
	guarded := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return c.Service != healthpb.Health_ServiceDesc.ServiceName
	})
	unary := selector.UnaryServerInterceptor(grpcauth.UnaryServerInterceptor(a.grpcAuth), guarded)
	stream := selector.StreamServerInterceptor(grpcauth.StreamServerInterceptor(a.grpcAuth), guarded)
	return []grpc.UnaryServerInterceptor{unary}, []grpc.StreamServerInterceptor{stream, a.boundStream}
}

// grpcAuth gathers a call's credentials from its peer and metadata.
func (a *Authenticator) grpcAuth(ctx context.Context) (context.Context, error) {
	c := Credentials{PeerChain: peerChain(ctx)}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		c.Remote = p.Addr.String()
	}
	if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) > 0 {
		c.Authorization = v[0]
	}
	if v := metadata.ValueFromIncomingContext(ctx, strings.ToLower(a.cfg.APIKeyHeader)); len(v) > 0 {
		c.APIKey = v[0]
	}
	p, err := a.Authenticate(ctx, c)
	if err != nil {
		return nil, err
	}
	return WithPrincipal(ctx, p), nil
}

// boundStream ends an authenticated stream when its credential expires
// or its client certificate stops verifying (see [Authenticator.bound]).
func (a *Authenticator) boundStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	p := PrincipalFrom(ss.Context())
	if p == nil {
		return next(srv, ss)
	}
	ctx, release := a.bound(ss.Context(), p, peerChain(ss.Context()))
	defer release()
	wrapped := middleware.WrapServerStream(ss)
	wrapped.WrappedContext = ctx
	return next(srv, wrapped)
}

// peerChain is the client certificate chain of ctx's connection.
func peerChain(ctx context.Context) []*x509.Certificate {
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			return ti.State.PeerCertificates
		}
	}
	return nil
}

// Identity names the principal of ctx's call ("" when unauthenticated): the
// identity function for grpcserver.WithIdentity.
func Identity(ctx context.Context) string {
	if p := PrincipalFrom(ctx); p != nil {
		return p.ID
	}
	return ""
}
