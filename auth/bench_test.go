package auth_test

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/a2agrpc/a2agrpc/auth"
)

// BenchmarkAuthenticate measures what authentication adds to every call,
// per scheme. API keys (one SHA-256 and a constant-time scan) are the
// baseline: compare the other sub-benchmarks' ns/op with it in the same
// run, not with absolute figures.
func BenchmarkAuthenticate(b *testing.B) {
	bd := newBed(b, bedOptions{})
	leaf, err := x509.ParseCertificate(bd.certs["alice"].Certificate[0])
	if err != nil {
		b.Fatal(err)
	}
	chain := []*x509.Certificate{leaf}
	token := "Bearer " + bd.token(b, "alice", nil)
	mk := func(cfg auth.Config) *auth.Authenticator {
		a, err := auth.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return a
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name  string
		authn *auth.Authenticator
		creds auth.Credentials
	}{
		{"apikey", mk(auth.Config{APIKeys: bd.keys}), auth.Credentials{APIKey: bd.apiKey}},
		{"jwt", mk(auth.Config{Bearer: bd.bearer}), auth.Credentials{Authorization: token}},
		{"mtls", mk(auth.Config{Peers: bd.peers}), auth.Credentials{PeerChain: chain}},
		{"mtls+jwt", mk(auth.Config{Peers: bd.peers, Bearer: bd.bearer}), auth.Credentials{PeerChain: chain, Authorization: token}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.authn.Authenticate(ctx, bc.creds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
