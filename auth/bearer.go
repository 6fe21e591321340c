package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	a2agrpc "github.com/a2agrpc/a2agrpc"
)

// Limits and defaults of bearer-token verification.
const (
	// DefaultBearerLeeway absorbs clock skew between the token issuer and
	// this server when checking exp, nbf and iat.
	DefaultBearerLeeway = 30 * time.Second
	// MaxBearerLeeway caps the leeway: a larger one would let expired tokens
	// live on noticeably past their exp.
	MaxBearerLeeway = 5 * time.Minute
	// DefaultJWKSRefreshInterval is how often the JWKS is fetched again, so
	// keys the issuer adds or revokes are picked up without a restart.
	DefaultJWKSRefreshInterval = time.Hour
	// MinHS256SecretLen is the shortest HS256 secret accepted: RFC 7518
	// section 3.2 requires a key at least as long as the hash output, and a
	// shorter one can be brute-forced from a single captured token.
	MinHS256SecretLen = 32

	// unknownKIDRefreshGap rate-limits the JWKS fetches triggered by tokens
	// naming an unknown kid. A fresh kid usually means the issuer rotated
	// keys, but anyone can send a made-up kid: without a limit every such
	// request would make this server fetch the JWKS again.
	unknownKIDRefreshGap = time.Minute
	// jwksFetchTimeout bounds one JWKS fetch, and how long a request with an
	// unknown kid waits for its turn to refresh.
	jwksFetchTimeout = 10 * time.Second
	// maxJWKSBytes caps a JWKS response: a broken or hostile endpoint must
	// not make this server buffer an unbounded body.
	maxJWKSBytes = 1 << 20
	// maxTokenBytes caps a presented token before any decoding; real tokens,
	// even ones carrying many group claims, stay far below it.
	maxTokenBytes = 16 << 10
)

// Messages of the errors Verify returns. They tell the caller what is wrong
// with the token without ever repeating it.
const (
	msgNoBearerToken = "missing bearer token"
	msgMalformed     = "malformed token"
	msgExpired       = "token expired"
	msgNotYetValid   = "token not valid yet"
	msgNoExpiry      = "token has no expiry (exp)"
	msgNoSubject     = "token has no subject (sub)"
	msgAudience      = "wrong audience"
	msgIssuer        = "wrong issuer"
	msgSignature     = "signature invalid"
	msgUnknownKey    = "unknown signing key"
	msgCritHeader    = "token has unsupported critical header parameters"
)

// asymmetricAlgs are the JWS algorithms verified with public keys. HS256 is
// added only when a secret is configured; every other algorithm, "none"
// above all, is rejected before any key is looked up.
var asymmetricAlgs = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// BearerConfig configures [NewBearer]. At least one of JWKSURL, KeyFiles and
// HS256Secret must be set, and Audience must not be empty.
type BearerConfig struct {
	// JWKSURL is where the issuer publishes its JSON Web Key Set. The set is
	// fetched when the Bearer is created, cached, fetched again every
	// RefreshInterval and, at most once a minute, when a token names a kid
	// the cache does not hold (the issuer has rotated its keys). It must be
	// https, except on a loopback host: keys fetched over plain HTTP could be
	// swapped by anyone on the path, who could then mint tokens.
	JWKSURL string
	// KeyFiles are local public keys: PEM files ("PUBLIC KEY", "RSA PUBLIC
	// KEY" or "CERTIFICATE", whose kid is the file's base name without its
	// extension) or JWKS / JWK JSON files (whose kid is each key's kid).
	// Keys from files take precedence over JWKS keys with the same kid.
	// A token without a kid is tried against every key of its algorithm's
	// type; keys without a kid are also tried, by type, for a token whose
	// kid matches no key. A certificate only carries the key: it is not
	// validated, the operator pinned it by naming the file.
	KeyFiles []string
	// HS256Secret enables HS256 tokens, verified with this secret only (never
	// with a key from JWKSURL or KeyFiles). It must be at least
	// MinHS256SecretLen bytes. HMAC is opt-in because a shared secret lets
	// every holder mint tokens, unlike a public key.
	HS256Secret []byte
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// Audience lists the identifiers of this service; a token must carry one
	// of them in aud. It is required because an issuer usually serves many
	// services: without the check a token minted for any other service of
	// the same issuer would be accepted here.
	Audience []string
	// Leeway is the clock skew allowed on exp, nbf and iat: zero means
	// DefaultBearerLeeway; more than MaxBearerLeeway is an error.
	Leeway time.Duration
	// HTTPClient fetches JWKSURL; nil means a client with default settings.
	// Each fetch is bounded to 10s and 1 MiB regardless.
	HTTPClient *http.Client
	// RefreshInterval is how often JWKSURL is fetched again; zero means
	// DefaultJWKSRefreshInterval.
	RefreshInterval time.Duration
}

// Bearer verifies JWT bearer tokens (RFC 6750, RFC 7519). It is safe for
// concurrent use.
type Bearer struct {
	// keys holds the key files' keys and, with a JWKS URL, the fetched set;
	// nil when only an HS256 secret is configured.
	keys     jwkset.Storage
	hmac     []byte
	accepted map[string]bool
	issuer   string
	opts     []jwt.ParserOption
	// verified skips the signature check of tokens seen recently.
	verified tokenCache

	stop      context.CancelFunc
	closeOnce sync.Once
}

// NewBearer returns a verifier for cfg.
//
// With a JWKS URL the set is fetched before NewBearer returns and an
// unreachable or unusable endpoint is an error: failing at start-up points
// at a misconfiguration at once, whereas starting without keys would reject
// every caller until a later refresh happened to succeed. Once running, a
// failed refresh keeps the keys last fetched. ctx bounds that first fetch
// only; the periodic refresh runs until [Bearer.Close].
func NewBearer(ctx context.Context, cfg BearerConfig) (*Bearer, error) {
	if cfg.JWKSURL == "" && len(cfg.KeyFiles) == 0 && cfg.HS256Secret == nil {
		return nil, errors.New("auth: bearer: no key source: set JWKSURL, KeyFiles or HS256Secret")
	}
	if len(cfg.Audience) == 0 {
		return nil, errors.New("auth: bearer: Audience is required, so that tokens minted for other services are refused")
	}
	for _, a := range cfg.Audience {
		if a == "" {
			return nil, errors.New("auth: bearer: empty Audience entry")
		}
	}
	if cfg.HS256Secret != nil && len(cfg.HS256Secret) < MinHS256SecretLen {
		return nil, fmt.Errorf("auth: bearer: HS256Secret is %d bytes, need at least %d", len(cfg.HS256Secret), MinHS256SecretLen)
	}
	leeway := cfg.Leeway
	switch {
	case leeway < 0:
		return nil, fmt.Errorf("auth: bearer: negative Leeway %v", leeway)
	case leeway == 0:
		leeway = DefaultBearerLeeway
	case leeway > MaxBearerLeeway:
		return nil, fmt.Errorf("auth: bearer: Leeway %v exceeds the maximum %v", leeway, MaxBearerLeeway)
	}
	refresh := cfg.RefreshInterval
	switch {
	case refresh < 0:
		return nil, fmt.Errorf("auth: bearer: negative RefreshInterval %v", refresh)
	case refresh == 0:
		refresh = DefaultJWKSRefreshInterval
	}

	b := &Bearer{
		accepted: make(map[string]bool, len(asymmetricAlgs)+1),
		issuer:   cfg.Issuer,
		stop:     func() {},
	}
	algs := append([]string(nil), asymmetricAlgs...)
	if cfg.HS256Secret != nil {
		b.hmac = append([]byte(nil), cfg.HS256Secret...)
		algs = append(algs, jwt.SigningMethodHS256.Alg())
	}
	for _, a := range algs {
		b.accepted[a] = true
	}
	b.opts = []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(cfg.Audience...),
	}
	if cfg.Issuer != "" {
		b.opts = append(b.opts, jwt.WithIssuer(cfg.Issuer))
	}

	var files jwkset.Storage
	if len(cfg.KeyFiles) > 0 {
		var err error
		if files, err = loadKeyFiles(cfg.KeyFiles); err != nil {
			return nil, err
		}
		b.keys = files
	}
	if cfg.JWKSURL != "" {
		if err := checkJWKSURL(cfg.JWKSURL); err != nil {
			return nil, err
		}
		storage, stop, err := fetchJWKS(ctx, cfg.JWKSURL, cfg.HTTPClient, files, refresh)
		if err != nil {
			return nil, err
		}
		b.keys, b.stop = storage, stop
	}
	if b.hmac == nil {
		n, err := b.usableKeys(ctx)
		if err != nil || n == 0 {
			b.Close()
			return nil, errors.New("auth: bearer: no usable signing key (RSA, ECDSA P-256/P-384/P-521 or Ed25519) in the configured sources")
		}
	}
	return b, nil
}

// fetchJWKS builds the JWKS cache, with the key files (if any) consulted
// first, and fetches the set once. The returned func stops the periodic
// refresh.
func fetchJWKS(ctx context.Context, rawURL string, client *http.Client, files jwkset.Storage, refresh time.Duration) (jwkset.Storage, context.CancelFunc, error) {
	// The refresh goroutine outlives ctx (a start-up context) but must still
	// stop if ctx is cancelled while NewBearer waits for the first fetch.
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopAfter := context.AfterFunc(ctx, cancel)
	failFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(life, []string{rawURL}, keyfunc.Override{
		Client:                    boundedClient(client),
		Given:                     files,
		HTTPTimeout:               jwksFetchTimeout,
		NoErrorReturnFirstHTTPReq: &failFirst,
		RateLimitWaitMax:          jwksFetchTimeout,
		RefreshInterval:           refresh,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(unknownKIDRefreshGap), 1),
	})
	if !stopAfter() {
		cancel()
		return nil, nil, fmt.Errorf("auth: bearer: fetching JWKS: %w", context.Cause(ctx))
	}
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("auth: bearer: fetching JWKS: %w", err)
	}
	return kf.Storage(), cancel, nil
}

// checkJWKSURL refuses plain-HTTP JWKS endpoints except on loopback, where
// no one else is on the path.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("auth: bearer: JWKSURL: %w", err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("auth: bearer: JWKSURL %s must use https (plain http only on loopback)", u.Redacted())
	default:
		return fmt.Errorf("auth: bearer: JWKSURL %s must be an https URL", u.Redacted())
	}
}

// boundedClient returns a copy of c whose responses are cut at maxJWKSBytes.
func boundedClient(c *http.Client) *http.Client {
	var bc http.Client
	if c != nil {
		bc = *c
	}
	base := bc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	bc.Transport = limitTransport{base: base}
	if bc.CheckRedirect == nil {
		bc.CheckRedirect = checkJWKSRedirect
	}
	return &bc
}

// maxJWKSRedirects bounds the redirects a JWKS fetch follows.
const maxJWKSRedirects = 3

// checkJWKSRedirect holds a redirect to the rules of the JWKS URL itself
// (https, or plain http on loopback), and never lets an https fetch be
// sent to plain http, loopback included: a key set must not be taken from
// a place its URL's owner could not vouch for.
func checkJWKSRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxJWKSRedirects {
		return fmt.Errorf("auth: bearer: JWKS: more than %d redirects", maxJWKSRedirects)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("auth: bearer: JWKS: refusing the redirect from https to %s", req.URL.Redacted())
	}
	if err := checkJWKSURL(req.URL.String()); err != nil {
		return fmt.Errorf("auth: bearer: JWKS redirect: %w", err)
	}
	return nil
}

type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxJWKSBytes}
	return resp, nil
}

// limitedBody fails instead of silently truncating, so an oversized JWKS is
// reported as an error rather than parsed from a cut-off prefix.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("JWKS response exceeds %d bytes", maxJWKSBytes)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("JWKS response exceeds %d bytes", maxJWKSBytes)
	}
	return n, err
}

// usableKeys counts the asymmetric signing keys known now.
func (b *Bearer) usableKeys(ctx context.Context) (int, error) {
	if b.keys == nil {
		return 0, nil
	}
	all, err := b.keys.KeyReadAll(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range all {
		for _, alg := range asymmetricAlgs {
			if _, ok := keyForAlg(j, alg); ok {
				n++
				break
			}
		}
	}
	return n, nil
}

// Close stops the periodic JWKS refresh. Verify keeps working with the keys
// already fetched. Close is idempotent.
func (b *Bearer) Close() {
	b.closeOnce.Do(b.stop)
}

// Verify checks token (the compact JWS after "Bearer ") and returns its
// principal. Every failure is an [a2agrpc.ReasonUnauthenticated] error whose
// message says what is wrong; [BearerChallenge] turns it into a
// WWW-Authenticate value.
func (b *Bearer) Verify(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, msgNoBearerToken)
	}
	if len(token) > maxTokenBytes {
		return nil, rejected(msgMalformed, nil)
	}
	now := time.Now()
	if p, s, ok := b.verified.get(token, now); ok && b.current(ctx, s) {
		return p, nil
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.NewParser(b.opts...).ParseWithClaims(token, claims, b.keyfunc(ctx))
	if err != nil {
		return nil, b.classify(parsed, claims, err)
	}
	sub, err := claims.GetSubject()
	if err != nil {
		return nil, rejected(msgMalformed, err)
	}
	if sub == "" {
		return nil, rejected(msgNoSubject, nil)
	}
	iss, err := claims.GetIssuer()
	if err != nil {
		return nil, rejected(msgMalformed, err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil { // the parser requires exp; defensive only
		return nil, rejected(msgNoExpiry, nil)
	}
	p := &Principal{
		ID:      "jwt:" + iss + "#" + sub,
		Scheme:  SchemeBearer,
		Subject: sub,
		Claims:  map[string]any(claims),
		Expires: exp.Time,
	}
	if s, ok := b.signerOf(ctx, parsed); ok {
		b.verified.put(token, p, s, now)
	}
	return p, nil
}

// signerOf names the key that verified tok, for the token cache. Tokens
// without a kid are not cached: which of several keys verified them is not
// known, so neither is when to stop trusting them.
func (b *Bearer) signerOf(ctx context.Context, tok *jwt.Token) (signer, bool) {
	alg := tok.Method.Alg()
	if alg == jwt.SigningMethodHS256.Alg() {
		return signer{}, true
	}
	kid, _ := tok.Header["kid"].(string)
	if kid == "" || b.keys == nil {
		return signer{}, false
	}
	j, err := b.keys.KeyRead(ctx, kid)
	if err != nil {
		return signer{}, false
	}
	key, ok := keyForAlg(j, alg)
	if !ok {
		return signer{}, false
	}
	return signer{kid: kid, alg: alg, key: key}, true
}

// current reports whether the key that verified a cached token is still in
// the key set under its kid.
func (b *Bearer) current(ctx context.Context, s signer) bool {
	if s.kid == "" {
		return true // HMAC: the secret is fixed
	}
	j, err := b.keys.KeyRead(ctx, s.kid)
	if err != nil {
		return false
	}
	key, ok := keyForAlg(j, s.alg)
	if !ok {
		return false
	}
	eq, ok := key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(s.key)
}

// keyfunc picks the key that may verify tok. The key must belong to the
// family of the token's alg: that is what defeats algorithm confusion, where
// a token claims HS256 and was "signed" with the bytes of a public key, or
// names an RSA key's kid under an ECDSA alg.
func (b *Bearer) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(tok *jwt.Token) (any, error) {
		if _, ok := tok.Header["crit"]; ok {
			// RFC 7515 section 4.1.11: extensions we do not implement must
			// make the token invalid rather than be ignored.
			return nil, rejected(msgCritHeader, nil)
		}
		alg := tok.Method.Alg()
		if alg == jwt.SigningMethodHS256.Alg() {
			if b.hmac == nil { // unreachable: HS256 is then not a valid method
				return nil, algNotAccepted(alg)
			}
			return b.hmac, nil
		}
		if b.keys == nil {
			return nil, rejected(msgUnknownKey, nil)
		}
		var kid string
		if raw, ok := tok.Header["kid"]; ok {
			s, ok := raw.(string)
			if !ok {
				return nil, rejected(msgMalformed, nil)
			}
			kid = s
		}
		var missing error
		if kid != "" {
			j, err := b.keys.KeyRead(ctx, kid)
			if err == nil {
				key, ok := keyForAlg(j, alg)
				if !ok {
					return nil, rejected(fmt.Sprintf("algorithm %s does not match the signing key", safeAlg(alg)), nil)
				}
				return key, nil
			}
			missing = err
		}
		// No kid, or one no key carries even after a refresh: try every key
		// of the alg's type that could have been meant, i.e. all of them for
		// a token without kid, and only those without a kid of their own
		// otherwise.
		all, err := b.keys.KeyReadAll(ctx)
		if err != nil {
			return nil, rejected(msgUnknownKey, err)
		}
		var set jwt.VerificationKeySet
		for _, j := range all {
			if kid != "" && j.Marshal().KID != "" {
				continue
			}
			if key, ok := keyForAlg(j, alg); ok {
				set.Keys = append(set.Keys, key)
			}
		}
		if len(set.Keys) == 0 {
			return nil, rejected(msgUnknownKey, missing)
		}
		return set, nil
	}
}

// keyForAlg returns j's public key if j may verify a token signed with alg:
// j is meant for signatures, any alg it declares is alg, and its key type
// (and curve) is the one alg uses. Symmetric JWKs never qualify.
func keyForAlg(j jwkset.JWK, alg string) (crypto.PublicKey, bool) {
	m := j.Marshal()
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, false
	}
	if a := m.ALG.String(); a != "" && a != alg {
		return nil, false
	}
	key := j.Key()
	if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = pk.Public()
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return k, true
		}
	case *ecdsa.PublicKey:
		var curve string
		switch alg {
		case "ES256":
			curve = "P-256"
		case "ES384":
			curve = "P-384"
		case "ES512":
			curve = "P-521"
		}
		if curve != "" && k.Curve != nil && k.Curve.Params().Name == curve {
			return k, true
		}
	case ed25519.PublicKey:
		if alg == "EdDSA" {
			return k, true
		}
	}
	return nil, false
}

// classify turns a parse failure into the error the caller sees.
func (b *Bearer) classify(tok *jwt.Token, claims jwt.MapClaims, err error) error {
	var ae *a2agrpc.Error
	if errors.As(err, &ae) { // from keyfunc
		return ae
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return rejected(msgMalformed, err)
	}
	if tok != nil && (tok.Method == nil || !b.accepted[tok.Method.Alg()]) {
		alg, ok := tok.Header["alg"].(string)
		if !ok {
			return rejected(msgMalformed, err)
		}
		return algNotAccepted(alg)
	}
	if errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		return rejected(msgSignature, err)
	}
	if !errors.Is(err, jwt.ErrTokenInvalidClaims) {
		return rejected(msgMalformed, err)
	}
	// Claims are checked only once the signature holds, so these messages
	// describe tokens our issuer really minted.
	exp, _ := claims.GetExpirationTime()
	iss, _ := claims.GetIssuer()
	var msg string
	switch {
	case errors.Is(err, jwt.ErrInvalidType):
		msg = msgMalformed
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = msgExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = msgNotYetValid
	case exp == nil:
		msg = msgNoExpiry
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), b.issuer != "" && iss == "":
		msg = msgIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = msgAudience
	default:
		msg = msgMalformed
	}
	return rejected(msg, err)
}

// rejected is the error for a presented token that failed verification:
// Unauthenticated with msg for the caller, and cause, for logs only, wrapped
// in tokenRejected.
func rejected(msg string, cause error) *a2agrpc.Error {
	return a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, msg).WithCause(tokenRejected{cause})
}

func algNotAccepted(alg string) *a2agrpc.Error {
	return rejected(fmt.Sprintf("algorithm %s not accepted", safeAlg(alg)), nil)
}

// tokenRejected marks Verify's errors about a token that was presented, so
// that BearerChallenge can tell them from a missing token or from another
// scheme's failure, neither of which may be answered with invalid_token.
type tokenRejected struct{ err error }

func (e tokenRejected) Error() string {
	if e.err == nil {
		return "bearer token rejected"
	}
	return e.err.Error()
}

func (e tokenRejected) Unwrap() error { return e.err }

// safeAlg renders a caller-supplied name (a token's alg, an Authorization
// scheme) for a message: plain names verbatim, anything else quoted and cut
// short, so a hostile header cannot inject text into logs or the
// WWW-Authenticate header.
func safeAlg(alg string) string {
	if alg != "" && len(alg) <= 16 && strings.Trim(alg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+") == "" {
		return alg
	}
	if len(alg) > 16 {
		return fmt.Sprintf("%+q...", alg[:16])
	}
	return fmt.Sprintf("%+q", alg)
}

// BearerChallenge returns the RFC 6750 WWW-Authenticate value for a failed
// authentication. When err is Verify's error about a presented token, the
// value carries error="invalid_token" and the error's message as
// error_description. Otherwise (err is nil, no token was presented, or
// another scheme failed) it is the bare `Bearer realm="a2a"`: RFC 6750
// section 3.1 gives a request without a bearer token no error code.
func BearerChallenge(err error) string {
	const realm = `Bearer realm="a2a"`
	var ae *a2agrpc.Error
	var tr tokenRejected
	if !errors.As(err, &ae) || !errors.As(err, &tr) {
		return realm
	}
	return realm + `, error="invalid_token", error_description="` + quoteParam(ae.Message) + `"`
}

// quoteParam escapes s for a quoted-string: backslash-escaped quotes and
// backslashes, and anything outside printable ASCII replaced, since a
// header value must not carry control characters.
func quoteParam(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			sb.WriteByte('?')
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// loadKeyFiles reads the configured key files into one key store.
func loadKeyFiles(paths []string) (jwkset.Storage, error) {
	store := jwkset.NewMemoryStorage()
	seen := make(map[string]string) // kid -> file
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("auth: bearer: key file: %w", err)
		}
		var keys []jwkset.JWK
		if trimmed := strings.TrimSpace(string(data)); strings.HasPrefix(trimmed, "{") {
			keys, err = parseJWKFile([]byte(trimmed))
		} else {
			base := filepath.Base(p)
			keys, err = parsePEMFile(data, strings.TrimSuffix(base, filepath.Ext(base)))
		}
		if err != nil {
			return nil, fmt.Errorf("auth: bearer: key file %s: %w", p, err)
		}
		for _, k := range keys {
			if kid := k.Marshal().KID; kid != "" {
				if prev, dup := seen[kid]; dup {
					return nil, fmt.Errorf("auth: bearer: key file %s: kid %q already defined in %s", p, kid, prev)
				}
				seen[kid] = p
			}
			if err := store.KeyWrite(context.Background(), k); err != nil {
				return nil, fmt.Errorf("auth: bearer: key file %s: %w", p, err)
			}
		}
	}
	return store, nil
}

// parseJWKFile reads a JWK Set ({"keys": [...]}) or a single JWK. Private
// parts, if present, are ignored; symmetric keys are refused because HMAC
// is configured through HS256Secret only.
func parseJWKFile(data []byte) ([]jwkset.JWK, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	var set jwkset.JWKSMarshal
	if _, ok := probe["keys"]; ok {
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, fmt.Errorf("invalid JWK Set: %w", err)
		}
	} else {
		var one jwkset.JWKMarshal
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, fmt.Errorf("invalid JWK: %w", err)
		}
		set.Keys = []jwkset.JWKMarshal{one}
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("no keys")
	}
	out := make([]jwkset.JWK, 0, len(set.Keys))
	seen := make(map[string]bool)
	for i, m := range set.Keys {
		if m.KTY == jwkset.KtyOct {
			return nil, fmt.Errorf("key %d: symmetric (oct) keys are not accepted; use HS256Secret", i)
		}
		j, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if m.KID != "" {
			if seen[m.KID] {
				return nil, fmt.Errorf("key %d: duplicate kid %q", i, m.KID)
			}
			seen[m.KID] = true
		}
		out = append(out, j)
	}
	return out, nil
}

// parsePEMFile reads one public key, from a PUBLIC KEY, RSA PUBLIC KEY or
// CERTIFICATE block (further CERTIFICATE blocks are taken as its chain and
// ignored). A second key would have no kid of its own, and a private key
// does not belong on a verifier, so both are errors.
func parsePEMFile(data []byte, kid string) ([]jwkset.JWK, error) {
	var key any
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, errors.New("holds a private key; give the public key or certificate")
		}
		var k any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			if key != nil {
				continue // chain
			}
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				k = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
		}
		if err != nil {
			return nil, err
		}
		if key != nil {
			return nil, errors.New("more than one public key; use one file per key (the file name is the kid)")
		}
		key = k
	}
	if key == nil {
		return nil, errors.New("no PEM public key or certificate found")
	}
	switch key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	j, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
	if err != nil {
		return nil, err
	}
	return []jwkset.JWK{j}, nil
}
