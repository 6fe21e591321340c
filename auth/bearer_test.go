package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	a2agrpc "github.com/a2agrpc/a2agrpc"
)

const (
	btIssuer   = "https://issuer.test"
	btAudience = "a2a-test"
)

var btSecret = []byte("0123456789abcdef0123456789abcdef-hs256")

// btKeySet holds the keys the bearer tests sign with, generated once per
// test binary (RSA generation is slow under -race).
type btKeySet struct {
	rsa   *rsa.PrivateKey
	ec256 *ecdsa.PrivateKey
	ec384 *ecdsa.PrivateKey
	ec521 *ecdsa.PrivateKey
	ed    ed25519.PrivateKey
	edPub ed25519.PublicKey
}

var btKeys = sync.OnceValue(func() *btKeySet {
	var k btKeySet
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		panic(err)
	}
	if k.ec521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader); err != nil {
		panic(err)
	}
	if k.edPub, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return &k
})

// btJWK is one entry of a test JWKS.
type btJWK struct {
	kid, alg string
	pub      any
}

func btJWKS(t testing.TB, keys ...btJWK) []byte {
	t.Helper()
	var set jwkset.JWKSMarshal
	set.Keys = []jwkset.JWKMarshal{}
	for _, k := range keys {
		j, err := jwkset.NewJWKFromKey(k.pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: jwkset.ALG(k.alg)}})
		if err != nil {
			t.Fatalf("JWK %q: %v", k.kid, err)
		}
		set.Keys = append(set.Keys, j.Marshal())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// btJWKSServer serves a replaceable JWKS and counts the fetches.
type btJWKSServer struct {
	*httptest.Server
	body    atomic.Pointer[[]byte]
	status  atomic.Int32
	fetches atomic.Int64
}

func btNewJWKSServer(t testing.TB, body []byte) *btJWKSServer {
	t.Helper()
	s := &btJWKSServer{}
	s.set(body)
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(s.status.Load()))
		w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *btJWKSServer) set(body []byte) { s.body.Store(&body) }

func btClaims(mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": btIssuer,
		"sub": "alice",
		"aud": btAudience,
		"exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func btSign(t testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

// btSegment encodes v as a JWT segment.
func btSegment(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// btEditSegment decodes segment i (0 header, 1 payload) of token, applies
// edit and re-encodes it, keeping the other segments (and so the original
// signature).
func btEditSegment(t testing.TB, token string, i int, edit func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	parts[i] = btSegment(t, m)
	return strings.Join(parts, ".")
}

func btRSAPublicDER(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&btKeys().rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func btWriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func btNewBearer(t testing.TB, cfg BearerConfig) *Bearer {
	t.Helper()
	b, err := NewBearer(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewBearer: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// btWantUnauth asserts err is an Unauthenticated A2A error whose message
// contains want and does not repeat token's signature.
func btWantUnauth(t *testing.T, err error, want, token string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want error %q", want)
	}
	var ae *a2agrpc.Error
	if !errors.As(err, &ae) || !errors.Is(err, a2agrpc.ErrUnauthenticated) {
		t.Fatalf("error %v (%T) is not an Unauthenticated A2A error", err, err)
	}
	if ae.HTTPStatus() != http.StatusUnauthorized {
		t.Errorf("HTTP status %d, want 401", ae.HTTPStatus())
	}
	if !strings.Contains(ae.Message, want) {
		t.Errorf("message %q, want it to contain %q", ae.Message, want)
	}
	if strings.ContainsFunc(ae.Message, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Errorf("message %q has control characters", ae.Message)
	}
	if parts := strings.Split(token, "."); len(parts) == 3 && len(parts[2]) > 8 && strings.Contains(err.Error(), parts[2]) {
		t.Errorf("error %q repeats the token", err)
	}
}

// btFixture is a JWKS server holding every test key and two bearers using
// it: one accepting HS256 with btSecret, one without HMAC.
type btFixture struct {
	srv        *btJWKSServer
	plain      *Bearer
	withSecret *Bearer
}

func btNewFixture(t *testing.T) *btFixture {
	k := btKeys()
	srv := btNewJWKSServer(t, btJWKS(t,
		btJWK{kid: "rsa", pub: &k.rsa.PublicKey},
		btJWK{kid: "rsa-rs256", alg: "RS256", pub: &k.rsa.PublicKey},
		btJWK{kid: "ec256", pub: &k.ec256.PublicKey},
		btJWK{kid: "ec384", pub: &k.ec384.PublicKey},
		btJWK{kid: "ec521", pub: &k.ec521.PublicKey},
		btJWK{kid: "ed", pub: k.edPub},
	))
	cfg := BearerConfig{
		JWKSURL:    srv.URL + "/jwks.json",
		HTTPClient: srv.Client(),
		Issuer:     btIssuer,
		Audience:   []string{btAudience, "a2a-other"},
	}
	f := &btFixture{srv: srv, plain: btNewBearer(t, cfg)}
	cfg.HS256Secret = btSecret
	f.withSecret = btNewBearer(t, cfg)
	return f
}

func TestBearerAcceptsValidTokens(t *testing.T) {
	k := btKeys()
	f := btNewFixture(t)
	exp := time.Now().Add(time.Hour).Unix()
	withExp := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		return btClaims(func(c jwt.MapClaims) {
			c["exp"] = exp
			if mod != nil {
				mod(c)
			}
		})
	}
	tests := []struct {
		name   string
		bearer *Bearer
		token  string
	}{
		{"RS256", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", withExp(nil))},
		{"RS384", f.plain, btSign(t, jwt.SigningMethodRS384, k.rsa, "rsa", withExp(nil))},
		{"RS512", f.plain, btSign(t, jwt.SigningMethodRS512, k.rsa, "rsa", withExp(nil))},
		{"PS256", f.plain, btSign(t, jwt.SigningMethodPS256, k.rsa, "rsa", withExp(nil))},
		{"PS384", f.plain, btSign(t, jwt.SigningMethodPS384, k.rsa, "rsa", withExp(nil))},
		{"PS512", f.plain, btSign(t, jwt.SigningMethodPS512, k.rsa, "rsa", withExp(nil))},
		{"RS256 with JWK alg RS256", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa-rs256", withExp(nil))},
		{"ES256", f.plain, btSign(t, jwt.SigningMethodES256, k.ec256, "ec256", withExp(nil))},
		{"ES384", f.plain, btSign(t, jwt.SigningMethodES384, k.ec384, "ec384", withExp(nil))},
		{"ES512", f.plain, btSign(t, jwt.SigningMethodES512, k.ec521, "ec521", withExp(nil))},
		{"EdDSA", f.plain, btSign(t, jwt.SigningMethodEdDSA, k.ed, "ed", withExp(nil))},
		{"ES256 without kid tried by type", f.plain, btSign(t, jwt.SigningMethodES256, k.ec256, "", withExp(nil))},
		{"HS256 with configured secret", f.withSecret, btSign(t, jwt.SigningMethodHS256, btSecret, "", withExp(nil))},
		{"asymmetric token on bearer with secret", f.withSecret, btSign(t, jwt.SigningMethodEdDSA, k.ed, "ed", withExp(nil))},
		{"second audience", f.plain, btSign(t, jwt.SigningMethodEdDSA, k.ed, "ed", withExp(func(c jwt.MapClaims) { c["aud"] = "a2a-other" }))},
		{"audience list", f.plain, btSign(t, jwt.SigningMethodEdDSA, k.ed, "ed", withExp(func(c jwt.MapClaims) { c["aud"] = []string{"x", btAudience} }))},
		{"expired within leeway", f.plain, btSign(t, jwt.SigningMethodEdDSA, k.ed, "ed", btClaims(func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-10 * time.Second).Unix()
		}))},
		{"nbf within leeway", f.plain, btSign(t, jwt.SigningMethodEdDSA, k.ed, "ed", withExp(func(c jwt.MapClaims) {
			c["nbf"] = time.Now().Add(10 * time.Second).Unix()
			c["iat"] = time.Now().Add(10 * time.Second).Unix()
		}))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.bearer.Verify(context.Background(), tc.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.ID != "jwt:"+btIssuer+"#alice" || p.Scheme != SchemeBearer || p.Subject != "alice" {
				t.Errorf("principal %+v", p)
			}
			if p.Claims["sub"] != "alice" || p.Claims["iss"] != btIssuer {
				t.Errorf("claims %v", p.Claims)
			}
			if strings.HasPrefix(tc.name, "expired") {
				return
			}
			if !p.Expires.Equal(time.Unix(exp, 0)) {
				t.Errorf("Expires %v, want %v", p.Expires, time.Unix(exp, 0))
			}
		})
	}
	if n := f.srv.fetches.Load(); n != 2 { // one initial fetch per bearer, then cached
		t.Errorf("%d JWKS fetches, want 2", n)
	}
}

func TestBearerRejectsInvalidTokens(t *testing.T) {
	k := btKeys()
	f := btNewFixture(t)
	_, otherEd, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	claims := btClaims
	good := btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(nil))
	der := btRSAPublicDER(t)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	payload := btSegment(t, claims(nil))
	critTok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(nil))
	critTok.Header["kid"] = "rsa"
	critTok.Header["crit"] = []string{"exp-ext"}
	critTok.Header["exp-ext"] = true
	crit, err := critTok.SignedString(k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	none := func(alg string) string {
		return btSegment(t, map[string]any{"alg": alg, "typ": "JWT", "kid": "rsa"}) + "." + payload + "."
	}

	tests := []struct {
		name   string
		bearer *Bearer
		token  string
		want   string
	}{
		{"empty", f.plain, "", "missing bearer token"},
		{"expired", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-2 * time.Minute).Unix()
			c["iat"] = time.Now().Add(-time.Hour).Unix()
			c["nbf"] = time.Now().Add(-time.Hour).Unix()
		})), "token expired"},
		{"nbf in the future", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			c["nbf"] = time.Now().Add(2 * time.Minute).Unix()
		})), "token not valid yet"},
		{"iat in the future", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			c["iat"] = time.Now().Add(2 * time.Minute).Unix()
		})), "token not valid yet"},
		{"wrong audience", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			c["aud"] = "another-service"
		})), "wrong audience"},
		{"missing audience", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			delete(c, "aud")
		})), "wrong audience"},
		{"wrong issuer", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			c["iss"] = "https://evil.test"
		})), "wrong issuer"},
		{"missing issuer", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			delete(c, "iss")
		})), "wrong issuer"},
		{"missing sub", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			delete(c, "sub")
		})), "token has no subject"},
		{"sub not a string", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			c["sub"] = 42
		})), "malformed token"},
		{"missing exp", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			delete(c, "exp")
		})), "token has no expiry"},
		{"exp not a number", f.plain, btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c jwt.MapClaims) {
			c["exp"] = "tomorrow"
		})), "malformed token"},
		{"alg none", f.plain, none("none"), "algorithm none not accepted"},
		{"alg none on bearer with secret", f.withSecret, none("none"), "algorithm none not accepted"},
		{"alg NONE", f.plain, none("NONE"), "algorithm NONE not accepted"},
		{"alg none with signature", f.plain, none("none") + "c2ln", "algorithm none not accepted"},
		{"hostile alg", f.plain, none("x\r\nSet-Cookie: a=b"), `algorithm "x\r\nSet-Cookie: a"... not accepted`},
		{"HS256 with RSA PEM as secret, no secret configured", f.plain,
			btSign(t, jwt.SigningMethodHS256, pemBytes, "rsa", claims(nil)), "algorithm HS256 not accepted"},
		{"HS256 with RSA DER as secret, no secret configured", f.plain,
			btSign(t, jwt.SigningMethodHS256, der, "rsa", claims(nil)), "algorithm HS256 not accepted"},
		{"HS256 with RSA PEM as secret, secret configured", f.withSecret,
			btSign(t, jwt.SigningMethodHS256, pemBytes, "rsa", claims(nil)), "signature invalid"},
		{"HS256 with RSA DER as secret, secret configured", f.withSecret,
			btSign(t, jwt.SigningMethodHS256, der, "", claims(nil)), "signature invalid"},
		{"HS384 with configured secret", f.withSecret,
			btSign(t, jwt.SigningMethodHS384, btSecret, "", claims(nil)), "algorithm HS384 not accepted"},
		{"RS256 relabelled ES256", f.plain,
			btEditSegment(t, good, 0, func(h map[string]any) { h["alg"] = "ES256" }), "algorithm ES256 does not match the signing key"},
		{"RS256 relabelled ES256 without kid", f.plain,
			btEditSegment(t, good, 0, func(h map[string]any) { h["alg"] = "ES256"; delete(h, "kid") }), "signature invalid"},
		{"RS256 relabelled PS256", f.plain,
			btEditSegment(t, good, 0, func(h map[string]any) { h["alg"] = "PS256" }), "signature invalid"},
		{"PS256 against JWK with alg RS256", f.plain,
			btSign(t, jwt.SigningMethodPS256, k.rsa, "rsa-rs256", claims(nil)), "algorithm PS256 does not match the signing key"},
		{"EdDSA on an ECDSA kid", f.plain,
			btSign(t, jwt.SigningMethodEdDSA, k.ed, "ec256", claims(nil)), "algorithm EdDSA does not match the signing key"},
		{"ES384 on a P-256 kid", f.plain,
			btSign(t, jwt.SigningMethodES384, k.ec384, "ec256", claims(nil)), "algorithm ES384 does not match the signing key"},
		{"tampered payload", f.plain,
			btEditSegment(t, good, 1, func(c map[string]any) { c["sub"] = "mallory" }), "signature invalid"},
		{"signed by another key with a known kid", f.plain,
			btSign(t, jwt.SigningMethodEdDSA, otherEd, "ed", claims(nil)), "signature invalid"},
		{"unknown kid", f.plain,
			btSign(t, jwt.SigningMethodEdDSA, otherEd, "no-such-kid", claims(nil)), "unknown signing key"},
		{"crit header", f.plain, crit, "unsupported critical header"},
		{"kid not a string", f.plain,
			btEditSegment(t, good, 0, func(h map[string]any) { h["kid"] = 7 }), "malformed token"},
		{"one segment", f.plain, "not-a-token", "malformed token"},
		{"garbage segments", f.plain, "a.b.c", "malformed token"},
		{"four segments", f.plain, good + ".x", "malformed token"},
		{"bad signature encoding", f.plain, good + "!", "malformed token"},
		{"payload not an object", f.plain, strings.Split(good, ".")[0] + "." + btSegment(t, []int{1}) + "." + strings.Split(good, ".")[2], "malformed token"},
		{"oversized", f.plain, strings.Repeat("a", maxTokenBytes+1), "malformed token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.bearer.Verify(context.Background(), tc.token)
			if p != nil {
				t.Errorf("principal %+v returned with error", p)
			}
			btWantUnauth(t, err, tc.want, tc.token)
		})
	}
	// Sanity: the untampered token verifies, so the rejections above are
	// caused by the edits.
	if _, err := f.plain.Verify(context.Background(), good); err != nil {
		t.Fatalf("untampered token rejected: %v", err)
	}
}

func TestBearerJWKSCacheAndRotation(t *testing.T) {
	k := btKeys()
	srv := btNewJWKSServer(t, btJWKS(t, btJWK{kid: "k1", pub: k.edPub}))
	b := btNewBearer(t, BearerConfig{
		JWKSURL:    srv.URL,
		HTTPClient: srv.Client(),
		Audience:   []string{btAudience},
	})
	ctx := context.Background()
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches after NewBearer, want 1", n)
	}
	old := btSign(t, jwt.SigningMethodEdDSA, k.ed, "k1", btClaims(nil))
	for range 5 {
		if _, err := b.Verify(ctx, old); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches after 5 verifications, want 1 (cached)", n)
	}

	// The issuer rotates to a new key; the first token naming it triggers
	// a refresh and verifies.
	srv.set(btJWKS(t, btJWK{kid: "k2", pub: &k.ec256.PublicKey}))
	rotated := btSign(t, jwt.SigningMethodES256, k.ec256, "k2", btClaims(nil))
	p, err := b.Verify(ctx, rotated)
	if err != nil {
		t.Fatalf("token with rotated key: %v", err)
	}
	if p.ID != "jwt:"+btIssuer+"#alice" {
		t.Errorf("ID %q", p.ID)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after rotation, want 2", n)
	}
	if _, err := b.Verify(ctx, rotated); err != nil {
		t.Fatalf("second token with rotated key: %v", err)
	}

	// The old key was revoked by the rotation; unknown kids no longer cause
	// fetches within the rate limit.
	start := time.Now()
	_, err = b.Verify(ctx, old)
	btWantUnauth(t, err, "unknown signing key", old)
	_, err = b.Verify(ctx, btSign(t, jwt.SigningMethodES256, k.ec256, "k3", btClaims(nil)))
	btWantUnauth(t, err, "unknown signing key", "")
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("%d fetches after unknown kids, want 2 (rate-limited)", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("rate-limited unknown kids took %v", d)
	}
}

func TestBearerPeriodicRefreshStopsOnClose(t *testing.T) {
	k := btKeys()
	srv := btNewJWKSServer(t, btJWKS(t, btJWK{kid: "k1", pub: k.edPub}))
	b, err := NewBearer(context.Background(), BearerConfig{
		JWKSURL:         srv.URL,
		HTTPClient:      srv.Client(),
		Audience:        []string{btAudience},
		RefreshInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// A refresh replaces the set: a key published later verifies without
	// an unknown-kid fetch. Two fetches starting after the change mean the
	// first of them (the refresh is sequential) has been applied.
	srv.set(btJWKS(t, btJWK{kid: "k1", pub: k.edPub}, btJWK{kid: "k2", pub: &k.ec256.PublicKey}))
	want := srv.fetches.Load() + 2
	deadline := time.Now().Add(10 * time.Second)
	for srv.fetches.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("only %d fetches in 10s with a 20ms refresh interval", srv.fetches.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Close()
	b.Close() // idempotent
	// A refresh may have been in flight when Close was called.
	time.Sleep(50 * time.Millisecond)
	after := srv.fetches.Load()
	time.Sleep(200 * time.Millisecond)
	if n := srv.fetches.Load(); n != after {
		t.Errorf("fetches went on after Close: %d -> %d", after, n)
	}
	// Verify keeps working with the cached keys, which include the key
	// published after start: no fetch is needed for it.
	if _, err := b.Verify(context.Background(), btSign(t, jwt.SigningMethodES256, k.ec256, "k2", btClaims(nil))); err != nil {
		t.Errorf("Verify after Close: %v", err)
	}
	if n := srv.fetches.Load(); n != after {
		t.Errorf("Verify of a refreshed kid fetched the JWKS: %d -> %d", after, n)
	}
}

func TestBearerKeyFiles(t *testing.T) {
	k := btKeys()
	dir := t.TempDir()
	pemFile := btWriteFile(t, dir, "rsa-pem.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: btRSAPublicDER(t)}))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "issuer"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(-time.Minute), // expired: a pinned carrier, not validated
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.ec256.PublicKey, k.ec256)
	if err != nil {
		t.Fatal(err)
	}
	certFile := btWriteFile(t, dir, "ec-cert.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}))
	jwksFile := btWriteFile(t, dir, "set.json", btJWKS(t,
		btJWK{kid: "ed-file", pub: k.edPub},
		btJWK{pub: &k.ec384.PublicKey}, // no kid: tried by type
	))
	b := btNewBearer(t, BearerConfig{
		KeyFiles: []string{pemFile, certFile, jwksFile},
		Audience: []string{btAudience},
	})
	noIss := btClaims(func(c jwt.MapClaims) { delete(c, "iss") })
	tests := []struct {
		name, want string // want "" = accepted
		token      string
	}{
		{"PEM kid from file name", "", btSign(t, jwt.SigningMethodRS256, k.rsa, "rsa-pem", noIss)},
		{"PEM key by type without kid", "", btSign(t, jwt.SigningMethodPS512, k.rsa, "", noIss)},
		{"certificate", "", btSign(t, jwt.SigningMethodES256, k.ec256, "ec-cert", noIss)},
		{"JWKS file kid", "", btSign(t, jwt.SigningMethodEdDSA, k.ed, "ed-file", noIss)},
		{"JWKS file key without kid, token without kid", "", btSign(t, jwt.SigningMethodES384, k.ec384, "", noIss)},
		{"JWKS file key without kid, token with unknown kid", "", btSign(t, jwt.SigningMethodES384, k.ec384, "elsewhere", noIss)},
		{"unknown kid, only keys with kids of that type", "unknown signing key", btSign(t, jwt.SigningMethodRS256, k.rsa, "elsewhere", noIss)},
		{"no key of the type", "unknown signing key", btSign(t, jwt.SigningMethodES512, k.ec521, "", noIss)},
		{"HS256 without secret", "algorithm HS256 not accepted", btSign(t, jwt.SigningMethodHS256, btSecret, "", noIss)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := b.Verify(context.Background(), tc.token)
			if tc.want != "" {
				btWantUnauth(t, err, tc.want, tc.token)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.ID != "jwt:#alice" { // iss may be empty
				t.Errorf("ID %q, want %q", p.ID, "jwt:#alice")
			}
		})
	}
}

func TestBearerHS256Only(t *testing.T) {
	b := btNewBearer(t, BearerConfig{HS256Secret: btSecret, Issuer: btIssuer, Audience: []string{btAudience}})
	p, err := b.Verify(context.Background(), btSign(t, jwt.SigningMethodHS256, btSecret, "", btClaims(nil)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if p.Subject != "alice" {
		t.Errorf("subject %q", p.Subject)
	}
	tok := btSign(t, jwt.SigningMethodEdDSA, btKeys().ed, "ed", btClaims(nil))
	_, err = b.Verify(context.Background(), tok)
	btWantUnauth(t, err, "unknown signing key", tok)
}

func TestNewBearerErrors(t *testing.T) {
	k := btKeys()
	dir := t.TempDir()
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: btRSAPublicDER(t)})
	privDER, err := x509.MarshalPKCS8PrivateKey(k.ec256)
	if err != nil {
		t.Fatal(err)
	}
	privFile := btWriteFile(t, dir, "priv.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	twoKeys := btWriteFile(t, dir, "two.pem", append(append([]byte{}, rsaPEM...), rsaPEM...))
	garbage := btWriteFile(t, dir, "garbage.pem", []byte("not a key"))
	octFile := btWriteFile(t, dir, "oct.json", []byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`))
	dupA := btWriteFile(t, dir, "same.pem", rsaPEM)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	dupB := btWriteFile(t, filepath.Join(dir, "sub"), "same.pub", rsaPEM)

	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	failing := btNewJWKSServer(t, []byte(`{}`))
	failing.status.Store(http.StatusInternalServerError)
	empty := btNewJWKSServer(t, []byte(`{"keys":[]}`))
	huge := btNewJWKSServer(t, append(append([]byte(`{"keys":[],"pad":"`), strings.Repeat("x", 2<<20)...), `"}`...))
	aud := []string{btAudience}

	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name string
		ctx  context.Context
		cfg  BearerConfig
		want string
	}{
		{"no key source", nil, BearerConfig{Audience: aud}, "no key source"},
		{"no audience", nil, BearerConfig{HS256Secret: btSecret}, "Audience is required"},
		{"empty audience entry", nil, BearerConfig{HS256Secret: btSecret, Audience: []string{""}}, "empty Audience"},
		{"short secret", nil, BearerConfig{HS256Secret: btSecret[:31], Audience: aud}, "need at least 32"},
		{"empty secret", nil, BearerConfig{HS256Secret: []byte{}, Audience: aud}, "need at least 32"},
		{"leeway too large", nil, BearerConfig{HS256Secret: btSecret, Audience: aud, Leeway: 6 * time.Minute}, "exceeds the maximum"},
		{"negative leeway", nil, BearerConfig{HS256Secret: btSecret, Audience: aud, Leeway: -time.Second}, "negative Leeway"},
		{"negative refresh", nil, BearerConfig{HS256Secret: btSecret, Audience: aud, RefreshInterval: -time.Second}, "negative RefreshInterval"},
		{"plain http off loopback", nil, BearerConfig{JWKSURL: "http://issuer.example/jwks", Audience: aud}, "must use https"},
		{"not http", nil, BearerConfig{JWKSURL: "file:///etc/jwks.json", Audience: aud}, "https URL"},
		{"unreachable JWKS", nil, BearerConfig{JWKSURL: downURL, Audience: aud}, "fetching JWKS"},
		{"JWKS status 500", nil, BearerConfig{JWKSURL: failing.URL, HTTPClient: failing.Client(), Audience: aud}, "fetching JWKS"},
		{"JWKS too large", nil, BearerConfig{JWKSURL: huge.URL, HTTPClient: huge.Client(), Audience: aud}, "fetching JWKS"},
		{"empty JWKS", nil, BearerConfig{JWKSURL: empty.URL, HTTPClient: empty.Client(), Audience: aud}, "no usable signing key"},
		{"canceled context", canceled, BearerConfig{JWKSURL: empty.URL, HTTPClient: empty.Client(), Audience: aud}, "context canceled"},
		{"missing key file", nil, BearerConfig{KeyFiles: []string{filepath.Join(dir, "nope.pem")}, Audience: aud}, "no such file"},
		{"private key file", nil, BearerConfig{KeyFiles: []string{privFile}, Audience: aud}, "private key"},
		{"two keys in one PEM", nil, BearerConfig{KeyFiles: []string{twoKeys}, Audience: aud}, "more than one public key"},
		{"garbage file", nil, BearerConfig{KeyFiles: []string{garbage}, Audience: aud}, "no PEM public key"},
		{"symmetric JWK file", nil, BearerConfig{KeyFiles: []string{octFile}, Audience: aud}, "symmetric"},
		{"duplicate kid", nil, BearerConfig{KeyFiles: []string{dupA, dupB}, Audience: aud}, `kid "same" already defined`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			b, err := NewBearer(ctx, tc.cfg)
			if err == nil {
				b.Close()
				t.Fatalf("NewBearer succeeded, want error containing %q", tc.want)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if len(tc.cfg.HS256Secret) > 0 && strings.Contains(err.Error(), string(tc.cfg.HS256Secret)) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

func TestBearerCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), btSecret...)
	b := btNewBearer(t, BearerConfig{HS256Secret: secret, Audience: []string{btAudience}})
	tok := btSign(t, jwt.SigningMethodHS256, btSecret, "", btClaims(nil))
	secret[0] ^= 0xff // the caller reusing its buffer must not change the key
	if _, err := b.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestBearerChallenge(t *testing.T) {
	b := btNewBearer(t, BearerConfig{HS256Secret: btSecret, Audience: []string{btAudience}})
	verify := func(token string) error {
		_, err := b.Verify(context.Background(), token)
		if err == nil {
			t.Fatalf("token %q accepted", token)
		}
		return err
	}
	expired := verify(btSign(t, jwt.SigningMethodHS256, btSecret, "", btClaims(func(c jwt.MapClaims) {
		c["exp"] = time.Now().Add(-time.Hour).Unix()
	})))
	hostile := verify(btSegment(t, map[string]any{"alg": `a"b\c`}) + "." + btSegment(t, btClaims(nil)) + ".")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no error", nil, `Bearer realm="a2a"`},
		{"no token", verify(""), `Bearer realm="a2a"`},
		{"expired", expired, `Bearer realm="a2a", error="invalid_token", error_description="token expired"`},
		{"malformed", verify("abc"), `Bearer realm="a2a", error="invalid_token", error_description="malformed token"`},
		{"quotes and backslashes escaped", hostile,
			`Bearer realm="a2a", error="invalid_token", error_description="algorithm \"a\\\"b\\\\c\" not accepted"`},
		// Errors of other schemes, or of no credentials at all, are no
		// verdict on a bearer token.
		{"API key rejected", func() error { _, err := (*APIKeys)(nil).Verify("k"); return err }(), `Bearer realm="a2a"`},
		{"other A2A error", a2agrpc.Errorf(a2agrpc.ReasonUnauthenticated, "credentials required"), `Bearer realm="a2a"`},
		{"foreign error", errors.New("boom"), `Bearer realm="a2a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := BearerChallenge(tc.err); got != tc.want {
				t.Errorf("BearerChallenge = %s\nwant             %s", got, tc.want)
			}
		})
	}
	// Wrapping, as bindings may do, keeps the verdict.
	if got := BearerChallenge(fmt.Errorf("http: %w", expired)); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("wrapped error: %s", got)
	}
	if got, want := quoteParam("a\r\n\x00\x7fé\"z"), `a?????\"z`; got != want {
		t.Errorf("quoteParam = %q, want %q", got, want)
	}
}

// TestBearerJWKSRedirects: redirects are followed only to where a JWKS URL
// could point (https, or plain http on loopback), never from https to
// plain http, and a few at most.
func TestBearerJWKSRedirects(t *testing.T) {
	k := btKeys()
	keys := btNewJWKSServer(t, btJWKS(t, btJWK{kid: "k1", pub: k.edPub}))
	redirect := func(to string) string {
		srv := httptest.NewServer(http.RedirectHandler(to, http.StatusFound))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	ctx := context.Background()
	// One hop on loopback: followed.
	b, err := NewBearer(ctx, BearerConfig{JWKSURL: redirect(keys.URL), Audience: []string{btAudience}})
	if err != nil {
		t.Fatalf("a redirect on loopback: %v", err)
	}
	b.Close()
	for _, tc := range []struct{ name, url, want string }{
		{"off loopback over http", redirect("http://issuer.example/jwks"), "must use https"},
		{"too many", redirect(redirect(redirect(redirect(keys.URL)))), "redirects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBearer(ctx, BearerConfig{JWKSURL: tc.url, Audience: []string{btAudience}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewBearer = %v, want an error naming %q", err, tc.want)
			}
		})
	}
	// https to plain http, even on loopback.
	via := []*http.Request{{URL: &url.URL{Scheme: "https", Host: "issuer.example", Path: "/jwks"}}}
	to := &http.Request{URL: &url.URL{Scheme: "http", Host: "127.0.0.1:1", Path: "/jwks"}}
	if err := checkJWKSRedirect(to, via); err == nil || !strings.Contains(err.Error(), "from https") {
		t.Errorf("https -> http redirect = %v, want refused", err)
	}
}
