package auth

import (
	"context"
	"errors"
	"net/http"

	"github.com/a2agrpc/a2agrpc"
)

// HTTP authenticates an HTTP request with the same verification as
// [Authenticator.GRPCInterceptors]: the client certificate of the TLS
// connection, the Authorization header and the API key header. It has the
// signature of httpserver.AuthFunc (give it to httpserver.WithAuth, and
// [HTTPIdentity] to httpserver.WithIdentity). On failure it sets the
// WWW-Authenticate challenges a 401 must carry and returns the error for
// the binding to render.
//
// Identity never comes from any other header: a client sending
// X-Forwarded-Client-Cert or similar gets no further than without it.
func (a *Authenticator) HTTP(w http.ResponseWriter, r *http.Request) (context.Context, error) {
	c := Credentials{
		Authorization: r.Header.Get("Authorization"),
		APIKey:        r.Header.Get(a.cfg.APIKeyHeader),
		Remote:        r.RemoteAddr,
	}
	if r.TLS != nil {
		c.PeerChain = r.TLS.PeerCertificates
	}
	p, err := a.Authenticate(r.Context(), c)
	if err != nil {
		if errors.Is(err, a2agrpc.ErrUnauthenticated) {
			for _, ch := range a.challenges(err) {
				w.Header().Add("WWW-Authenticate", ch)
			}
		}
		return nil, err
	}
	// Bound the request (an SSE stream above all) by the credential; the
	// bound is released when the server ends the request's context.
	ctx, release := a.bound(WithPrincipal(r.Context(), p), p, c.PeerChain)
	context.AfterFunc(r.Context(), release)
	return ctx, nil
}

// challenges are the WWW-Authenticate values for a failed authentication,
// one per accepted scheme (RFC 9110 §11.6.1).
func (a *Authenticator) challenges(err error) []string {
	var out []string
	if a.cfg.Bearer != nil {
		out = append(out, BearerChallenge(err))
	}
	if a.cfg.APIKeys != nil {
		out = append(out, `APIKey realm="a2a", header="`+a.cfg.APIKeyHeader+`"`)
	}
	if len(out) == 0 {
		// mTLS alone has no registered HTTP scheme; name it anyway, as a 401
		// must carry a challenge.
		out = append(out, `ClientCertificate realm="a2a"`)
	}
	return out
}

// HTTPIdentity names the principal of an authenticated request: the
// identity function for httpserver.WithIdentity.
func HTTPIdentity(r *http.Request) string { return Identity(r.Context()) }
