package auth

import (
	"context"
	"time"
)

// Scheme names, as they appear in the Agent Card's securitySchemes and in
// [Principal.Scheme].
const (
	SchemeMTLS   = "mtls"
	SchemeBearer = "bearer"
	SchemeAPIKey = "apiKey"
)

// Principal is an authenticated caller. Tasks belong to the principal that
// created them, so ID must be stable across calls and must not collide
// between schemes: it is qualified by the scheme that produced it.
type Principal struct {
	// ID owns tasks: "mtls:<identity>", "jwt:<issuer>#<subject>" or
	// "apikey:<name>".
	ID string
	// Scheme is the scheme that named the principal (SchemeMTLS,
	// SchemeBearer or SchemeAPIKey).
	Scheme string
	// Subject is the unqualified name: the certificate identity, the token's
	// sub claim, or the API key's name.
	Subject string
	// Peer is the verified client-certificate identity when the connection
	// is mutual TLS, also when a token named the principal; "" otherwise.
	Peer string
	// Claims are a bearer token's claims; nil for other schemes.
	Claims map[string]any
	// Expires is when the credential stops being valid; zero if it does not
	// expire.
	Expires time.Time
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal authenticated for ctx's call, or nil
// when the call was not authenticated (a public endpoint, or a server
// without authentication).
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
