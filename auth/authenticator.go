package auth

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/a2agrpc/a2agrpc"
)

// PeerVerifier verifies a client certificate chain presented on a TLS
// connection and names the identity it proves. *mtls.Reloader is one; it
// verifies against a CA bundle that can change while the server runs.
type PeerVerifier interface {
	VerifyPeer(chain []*x509.Certificate, now time.Time) (identity string, err error)
}

// IdentityAllower decides whether a verified certificate identity may call
// at all; *mtls.AllowList is one.
type IdentityAllower interface {
	Allows(identity string) bool
}

// TokenVerifier checks a bearer token; *Bearer is one.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*Principal, error)
}

// KeyVerifier checks an API key; *APIKeys is one.
type KeyVerifier interface {
	Verify(key string) (*Principal, error)
}

// DefaultAPIKeyHeader is the header (gRPC metadata key, lower-cased) that
// carries API keys unless [Config.APIKeyHeader] names another.
const DefaultAPIKeyHeader = "X-API-Key"

// Config selects the schemes an [Authenticator] enforces. Any combination
// may be configured; see [Config.AnyOf] for how they combine.
type Config struct {
	// Peers enables mutual TLS: callers present a client certificate that
	// Peers verifies. The listeners must then request client certificates
	// (mtls.ServerConfig does).
	Peers PeerVerifier
	// Allow restricts which certificate identities may call (nil: every
	// identity Peers accepts). A verified certificate whose identity is not
	// allowed gets PERMISSION_DENIED, not UNAUTHENTICATED: the caller is
	// known, just not welcome.
	Allow IdentityAllower
	// Bearer enables "Authorization: Bearer <JWT>".
	Bearer TokenVerifier
	// APIKeys enables API keys in the [Config.APIKeyHeader] header.
	APIKeys KeyVerifier
	// APIKeyHeader names the API key header (default [DefaultAPIKeyHeader]).
	APIKeyHeader string
	// AnyOf accepts a caller that satisfies any one configured scheme. By
	// default a client certificate is required in addition to a token when
	// both mTLS and a token scheme are configured: the certificate proves
	// which workload calls, the token on whose behalf.
	AnyOf bool
	// FailuresPerMinute, if positive, is how many failed authentications
	// one client address may make per minute (and at once). Past it,
	// every call from the address gets RESOURCE_EXHAUSTED with a
	// retry-after until its budget refills, before any credential is
	// checked: guessing keys or tokens becomes slow, and a right guess is
	// not revealed meanwhile. Behind a proxy that connects from one address
	// for everyone (a2agrpc gateway included), the budget is shared by all
	// its callers, so set it accordingly or leave it off there.
	FailuresPerMinute int
	// Now is the clock certificates are checked against (default time.Now).
	Now func() time.Time
}

// Credentials are what a call presented, gathered by a binding.
type Credentials struct {
	// PeerChain is the client certificate chain of a TLS connection, leaf
	// first; empty when the client sent none or the connection is plain.
	PeerChain []*x509.Certificate
	// Authorization is the Authorization header (gRPC: metadata
	// "authorization").
	Authorization string
	// APIKey is the value of the API key header.
	APIKey string
	// Remote is the client's network address (host:port), for
	// [Config.FailuresPerMinute]; empty: not throttled.
	Remote string
}

// Authenticator is the one verification function every binding calls (gRPC
// interceptors, the HTTP middleware, the mesh stream through the gRPC
// stream interceptor): the same credentials get the same principal or the
// same error whichever way they arrive.
type Authenticator struct {
	cfg      Config
	streams  streamWatch
	failures *failureThrottle // nil: failures are not throttled
}

// New checks cfg and returns its Authenticator.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Peers == nil && cfg.Bearer == nil && cfg.APIKeys == nil {
		return nil, errors.New("auth: no scheme configured (mTLS, bearer or API key)")
	}
	if cfg.Allow != nil && cfg.Peers == nil {
		return nil, errors.New("auth: an identity allow-list needs mTLS")
	}
	if cfg.APIKeyHeader == "" {
		cfg.APIKeyHeader = DefaultAPIKeyHeader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FailuresPerMinute < 0 {
		return nil, errors.New("auth: negative FailuresPerMinute")
	}
	a := &Authenticator{cfg: cfg}
	if cfg.FailuresPerMinute > 0 {
		a.failures = newFailureThrottle(cfg.FailuresPerMinute, cfg.Now)
	}
	return a, nil
}

// APIKeyHeader is the header API keys travel in.
func (a *Authenticator) APIKeyHeader() string { return a.cfg.APIKeyHeader }

func (a *Authenticator) tokens() bool { return a.cfg.Bearer != nil || a.cfg.APIKeys != nil }

// Authenticate returns the principal c proves, or an UNAUTHENTICATED
// (missing or invalid credentials) or PERMISSION_DENIED (a valid identity
// not on the allow-list) error.
//
// The principal is named by the token when one is required and given (the
// certificate identity is kept as Principal.Peer), else by the certificate.
//
// With [Config.FailuresPerMinute], an address that failed too often gets
// RESOURCE_EXHAUSTED instead, whatever it presents.
func (a *Authenticator) Authenticate(ctx context.Context, c Credentials) (*Principal, error) {
	if a.failures == nil {
		return a.authenticate(ctx, c)
	}
	refund, err := a.failures.take(c.Remote)
	if err != nil {
		return nil, err
	}
	p, err := a.authenticate(ctx, c)
	// Only unproven credentials count: a caller denied by the allow-list
	// proved who it is, and guesses nothing by calling again.
	if !errors.Is(err, a2agrpc.ErrUnauthenticated) {
		refund()
	}
	return p, err
}

func (a *Authenticator) authenticate(ctx context.Context, c Credentials) (*Principal, error) {
	var peer *Principal
	if a.cfg.Peers != nil && (len(c.PeerChain) > 0 || !a.cfg.AnyOf || !a.tokens()) {
		p, err := a.verifyPeer(c.PeerChain)
		if err != nil {
			return nil, err
		}
		peer = p
	}
	if !a.tokens() || (a.cfg.AnyOf && peer != nil && c.Authorization == "" && c.APIKey == "") {
		return peer, nil
	}
	p, err := a.verifyToken(ctx, c)
	if err != nil {
		return nil, err
	}
	if peer != nil {
		p.Peer = peer.Subject
	}
	return p, nil
}

func (a *Authenticator) verifyPeer(chain []*x509.Certificate) (*Principal, error) {
	if len(chain) == 0 {
		return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "a client certificate is required (mutual TLS)")
	}
	id, err := a.cfg.Peers.VerifyPeer(chain, a.cfg.Now())
	if err != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonUnauthenticated, "client certificate rejected: %v", err)
	}
	if id == "" {
		return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "client certificate names no identity (no URI or DNS SAN, no CN)")
	}
	if a.cfg.Allow != nil && !a.cfg.Allow.Allows(id) {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonUnauthorized, "identity %q is not allowed to call this agent", id).
			WithMeta("identity", id)
	}
	return &Principal{ID: "mtls:" + id, Scheme: SchemeMTLS, Subject: id, Peer: id, Expires: chain[0].NotAfter}, nil
}

// verifyToken checks the bearer token or, failing that, the API key. A
// caller presenting a credential of a kind this server does not accept is
// told so rather than "credentials required".
func (a *Authenticator) verifyToken(ctx context.Context, c Credentials) (*Principal, error) {
	if c.Authorization != "" {
		scheme, token, _ := strings.Cut(strings.TrimSpace(c.Authorization), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, a2agrpc.Errorf(a2agrpc.ReasonUnauthenticated, "authorization scheme %s is not supported; use Bearer", safeAlg(scheme))
		}
		if a.cfg.Bearer == nil {
			return nil, a2agrpc.Errorf(a2agrpc.ReasonUnauthenticated, "bearer tokens are not accepted here; send an API key in %s", a.cfg.APIKeyHeader)
		}
		return a.cfg.Bearer.Verify(ctx, strings.TrimSpace(token))
	}
	if c.APIKey != "" {
		if a.cfg.APIKeys == nil {
			return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "API keys are not accepted here; send a bearer token")
		}
		return a.cfg.APIKeys.Verify(c.APIKey)
	}
	var want []string
	if a.cfg.Bearer != nil {
		want = append(want, "a bearer token (Authorization: Bearer …)")
	}
	if a.cfg.APIKeys != nil {
		want = append(want, "an API key ("+a.cfg.APIKeyHeader+")")
	}
	return nil, a2agrpc.Errorf(a2agrpc.ReasonUnauthenticated, "credentials required: %s", strings.Join(want, " or "))
}
