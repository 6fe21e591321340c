package client

import (
	"crypto/tls"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"

	"github.com/a2agrpc/a2agrpc/cardsign"
)

// Option configures a [Client].
type Option func(*config)

type config struct {
	prefs        []string
	tls          *tls.Config
	httpClient   *http.Client
	ownHTTP      bool // httpClient was made here, not given
	tokens       oauth2.TokenSource
	apiKeyHeader string
	apiKey       string
	tenant       string
	extensions   []string
	timeout      time.Duration
	retry        RetryPolicy
	cardKeys     *cardsign.KeySet
	dialOptions  []grpc.DialOption
	noResume     bool
	resumeWindow time.Duration
	tracer       trace.TracerProvider
}

// Defaults.
const (
	// DefaultTimeout bounds a unary call whose context has no deadline.
	DefaultTimeout = 30 * time.Second
	// DefaultResumeWindow is how long a dropped stream is resumed for.
	DefaultResumeWindow = time.Minute
	// DefaultAPIKeyHeader is the header an API key is sent in.
	DefaultAPIKeyHeader = "X-API-Key"
)

func defaultConfig() config {
	return config{
		prefs:        slices.Clone(DefaultPreference),
		apiKeyHeader: DefaultAPIKeyHeader,
		timeout:      DefaultTimeout,
		retry:        DefaultRetryPolicy,
		resumeWindow: DefaultResumeWindow,
	}
}

// WithTransports sets the transports to choose from, in order of preference
// (see [TransportMesh], [TransportGRPC], [TransportREST],
// [TransportJSONRPC]; case does not matter). The first one the Agent Card
// advertises is used. No names means [DefaultPreference].
func WithTransports(names ...string) Option {
	return func(c *config) {
		if len(names) == 0 {
			c.prefs = slices.Clone(DefaultPreference)
			return
		}
		c.prefs = c.prefs[:0:0]
		for _, n := range names {
			for _, known := range DefaultPreference {
				if strings.EqualFold(n, known) {
					n = known
				}
			}
			c.prefs = append(c.prefs, n)
		}
	}
}

// WithTLS sets the TLS configuration of every connection, gRPC and HTTP
// alike: the roots that verify the server and, for mutual TLS, the client
// certificate (mtls.ClientConfig builds one that follows certificate
// reloads). Without it, TLS is still used with the system roots where the
// card's URLs say https.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg }
}

// WithHTTPClient sets the HTTP client of the HTTP+JSON and JSON-RPC
// transports and of the Agent Card fetch. Its transport's TLS settings win
// over [WithTLS] for HTTP.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithTokenSource sends "Authorization: <type> <token>" on every call,
// asking ts for the token each time; wrap it in oauth2.ReuseTokenSource to
// cache it until it expires.
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(c *config) { c.tokens = ts }
}

// WithBearerToken sends a fixed bearer token on every call.
func WithBearerToken(token string) Option {
	return WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}))
}

// WithAPIKey sends key in header on every call ([DefaultAPIKeyHeader] if
// header is empty).
func WithAPIKey(header, key string) Option {
	return func(c *config) {
		if header == "" {
			header = DefaultAPIKeyHeader
		}
		c.apiKeyHeader, c.apiKey = header, key
	}
}

// WithTenant sets the tenant of every request that names none; without it,
// the tenant of the chosen interface in the card is used, if any.
func WithTenant(tenant string) Option {
	return func(c *config) { c.tenant = tenant }
}

// WithExtensions asks the agent to activate these extensions on every call
// (the A2A-Extensions service parameter). [WithCallExtensions] adds more
// for one call.
func WithExtensions(uris ...string) Option {
	return func(c *config) { c.extensions = slices.Clone(uris) }
}

// WithTimeout bounds unary calls whose context has no deadline
// ([DefaultTimeout]; 0 disables the bound). Streams are bounded only by
// their context: they may legitimately last hours.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = max(d, 0) }
}

// WithRetry sets how idempotent calls are retried (see [RetryPolicy]).
func WithRetry(p RetryPolicy) Option {
	return func(c *config) { c.retry = p }
}

// WithCardKeys makes the client verify the Agent Card's signature against
// keys before using the card: an unsigned card, or one signed by no key in
// the set, is refused.
func WithCardKeys(keys *cardsign.KeySet) Option {
	return func(c *config) { c.cardKeys = keys }
}

// WithDialOptions adds gRPC dial options (interceptors, stats handlers,
// message size limits) to the gRPC connection.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.dialOptions = append(c.dialOptions, opts...) }
}

// WithTracerProvider records client spans and sends their trace context,
// so the server's spans are their children: one per call or stream on
// gRPC, one per request on HTTP+JSON and JSON-RPC, and one per request on
// the mesh, named "a2agrpc.mesh.v1.MeshService/<operation>" as the
// server's request span is (send_message, subscribe_to_task, ...). A mesh
// request's span is a child of the caller's context and ends with its
// answer, or for a stream when it ends, fails or is abandoned; its frame
// carries the span's trace context, which the server's request span
// continues. The mesh stream itself, shared by all requests, has a span of
// its own for its whole life, in a trace of its own. Without it the client
// still passes on the trace context of the caller's context (see
// [Client]). An http.Client given with [WithHTTPClient] is used as it is:
// instrument it yourself.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracer = tp }
}

// WithResumeWindow sets how long the client keeps trying to resume a
// dropped stream, with the backoff of [WithRetry], before it reports the
// drop ([DefaultResumeWindow]). It should outlast a server restart.
func WithResumeWindow(d time.Duration) Option {
	return func(c *config) { c.resumeWindow = max(d, 0) }
}

// WithoutResume turns off the automatic resumption of dropped streams: a
// dropped stream then ends with its ReasonUnavailable error.
func WithoutResume() Option {
	return func(c *config) { c.noResume = true }
}
