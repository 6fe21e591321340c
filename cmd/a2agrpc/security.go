package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
	"github.com/a2agrpc/a2agrpc/cardsign"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/mtls"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// securityFlags are serve's TLS, authentication, rate-limit and card-signing
// flags.
type securityFlags struct {
	tlsCert, tlsKey, clientCA, allow string
	jwksURL, jwtKeys, jwtSecretFile  string
	jwtIssuer, jwtAudience           string
	apiKeys, apiKeyHeader            string
	anyOf                            bool
	failuresPerMinute                int
	rateLimit                        float64
	rateBurst                        int
	signKey, signKID                 string
}

func (s *securityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.tlsCert, "tls-cert", "", "PEM certificate chain: serve gRPC and HTTP over TLS (reloaded when the file changes)")
	fs.StringVar(&s.tlsKey, "tls-key", "", "PEM private key of -tls-cert")
	fs.StringVar(&s.clientCA, "client-ca", "", "PEM CA bundle: require client certificates issued by it (mutual TLS; needs -tls-cert)")
	fs.StringVar(&s.allow, "allow", "", "comma-separated client identities or patterns allowed to call (spiffe://example.org/agent/*, *.mesh.local); default: any certificate from -client-ca")
	fs.StringVar(&s.jwksURL, "jwt-jwks-url", "", "accept bearer JWTs signed by keys from this JWKS URL (cached and refreshed)")
	fs.StringVar(&s.jwtKeys, "jwt-keys", "", "comma-separated PEM public key or JWKS files for bearer JWTs")
	fs.StringVar(&s.jwtSecretFile, "jwt-hs256-secret-file", "", "file with an HS256 secret (>= 32 bytes): accept HMAC-signed JWTs too")
	fs.StringVar(&s.jwtIssuer, "jwt-issuer", "", "required iss of bearer JWTs (required with any -jwt-* key source)")
	fs.StringVar(&s.jwtAudience, "jwt-audience", "", "comma-separated accepted aud values of bearer JWTs (required with any -jwt-* key source)")
	fs.StringVar(&s.apiKeys, "api-keys", "", `file of hashed API keys, one "name sha256:<hex>" per line (create with "a2agrpc apikey NAME"); edits take effect within 5 s`)
	fs.StringVar(&s.apiKeyHeader, "api-key-header", auth.DefaultAPIKeyHeader, "header carrying API keys")
	fs.BoolVar(&s.anyOf, "auth-any", false, "accept a caller with any one configured credential; by default a client certificate AND a token are required when both are configured")
	fs.IntVar(&s.failuresPerMinute, "auth-failures-per-minute", 60, "failed authentications allowed per client address per minute; past it the address is refused (429/RESOURCE_EXHAUSTED) until its budget refills; 0: unlimited (set 0, or high, behind a proxy that connects for all callers)")
	fs.Float64Var(&s.rateLimit, "rate-limit", 0, "operations per second allowed per caller (principal, or address when anonymous); 0: unlimited")
	fs.IntVar(&s.rateBurst, "rate-burst", 0, "operations a caller may make at once above -rate-limit (default: the rate, at least 1)")
	fs.StringVar(&s.signKey, "card-sign-key", "", "PEM private key (EC, RSA or Ed25519) to sign the Agent Card with (JWS over its RFC 8785 form)")
	fs.StringVar(&s.signKID, "card-sign-kid", "", "key id put in the card signature (default: the key file's base name)")
}

// security is what serve applies from the flags.
type security struct {
	tls    *tls.Config // nil: plaintext
	authn  *auth.Authenticator
	signer *cardsign.Signer
	rate   float64
	burst  int
	close  []func()
}

func (s *securityFlags) open(ctx context.Context) (_ *security, err error) {
	sec := &security{rate: s.rateLimit, burst: s.rateBurst}
	defer func() {
		if err != nil {
			sec.Close()
		}
	}()
	if sec.burst <= 0 {
		sec.burst = max(int(s.rateLimit), 1)
	}
	var cfg auth.Config
	switch {
	case s.tlsCert != "" || s.tlsKey != "":
		if s.tlsCert == "" || s.tlsKey == "" {
			return nil, errors.New("-tls-cert and -tls-key go together")
		}
		r, err := mtls.NewReloader(mtls.Files{Cert: s.tlsCert, Key: s.tlsKey, CA: s.clientCA},
			mtls.WithErrorLog(func(err error) { fmt.Fprintln(os.Stderr, "a2agrpc: TLS reload:", err) }))
		if err != nil {
			return nil, err
		}
		sec.close = append(sec.close, func() { r.Close() })
		sec.tls = mtls.ServerConfig(r)
		if s.clientCA != "" {
			cfg.Peers = r
		}
	case s.clientCA != "":
		return nil, errors.New("-client-ca needs -tls-cert and -tls-key")
	}
	if s.allow != "" {
		if cfg.Peers == nil {
			return nil, errors.New("-allow needs mutual TLS (-client-ca)")
		}
		if cfg.Allow, err = mtls.NewAllowList(a2agrpc.SplitList(s.allow)...); err != nil {
			return nil, err
		}
	}
	if s.jwksURL != "" || s.jwtKeys != "" || s.jwtSecretFile != "" {
		// The library accepts any issuer when none is named; a server
		// taking tokens from the network should not, since a JWKS (a
		// cloud provider's, say) may sign tokens for many issuers.
		if s.jwtIssuer == "" {
			return nil, errors.New("-jwt-issuer is required with -jwt-jwks-url, -jwt-keys or -jwt-hs256-secret-file")
		}
		bc := auth.BearerConfig{JWKSURL: s.jwksURL, KeyFiles: a2agrpc.SplitList(s.jwtKeys), Issuer: s.jwtIssuer, Audience: a2agrpc.SplitList(s.jwtAudience)}
		if s.jwtSecretFile != "" {
			secret, err := os.ReadFile(s.jwtSecretFile)
			if err != nil {
				return nil, err
			}
			bc.HS256Secret = []byte(strings.TrimSpace(string(secret)))
		}
		b, err := auth.NewBearer(ctx, bc)
		if err != nil {
			return nil, err
		}
		sec.close = append(sec.close, b.Close)
		cfg.Bearer = b
	}
	if s.apiKeys != "" {
		keys, err := auth.WatchAPIKeys(s.apiKeys,
			auth.WithAPIKeyErrorLog(func(err error) { fmt.Fprintln(os.Stderr, "a2agrpc: API key reload (previous keys kept):", err) }))
		if err != nil {
			return nil, err
		}
		sec.close = append(sec.close, keys.Close)
		cfg.APIKeys = keys
	}
	cfg.APIKeyHeader, cfg.AnyOf, cfg.FailuresPerMinute = s.apiKeyHeader, s.anyOf, s.failuresPerMinute
	if cfg.Peers != nil || cfg.Bearer != nil || cfg.APIKeys != nil {
		if sec.authn, err = auth.New(cfg); err != nil {
			return nil, err
		}
	}
	if s.signKey != "" {
		kid := s.signKID
		if kid == "" {
			kid = strings.TrimSuffix(filepath.Base(s.signKey), filepath.Ext(s.signKey))
		}
		if sec.signer, err = cardsign.LoadSigner(s.signKey, kid); err != nil {
			return nil, err
		}
	}
	return sec, nil
}

// Close stops certificate reloading and JWKS refreshing.
func (sec *security) Close() {
	for _, c := range sec.close {
		c()
	}
}

// card declares the enforced security in the card, then signs it: the
// signature covers what the server promises.
func (sec *security) card(card *a2av1.AgentCard) (*a2av1.AgentCard, error) {
	if sec.authn != nil {
		card = sec.authn.Card(card)
	}
	if sec.signer != nil {
		return cardsign.Sign(card, sec.signer)
	}
	return card, nil
}

func (sec *security) handlerOptions() []server.Option {
	if sec.rate > 0 {
		return []server.Option{server.WithRateLimit(sec.rate, sec.burst)}
	}
	return nil
}

func (sec *security) grpcOptions() []grpcserver.Option {
	var opts []grpcserver.Option
	if sec.tls != nil {
		opts = append(opts, grpcserver.WithGRPCOptions(grpc.Creds(credentials.NewTLS(sec.tls))))
	}
	if sec.authn != nil {
		opts = append(opts, grpcserver.WithInterceptors(sec.authn.GRPCInterceptors()), grpcserver.WithIdentity(auth.Identity))
	}
	return opts
}

func (sec *security) httpOptions() []httpserver.Option {
	if sec.authn == nil {
		return nil
	}
	return []httpserver.Option{httpserver.WithAuth(sec.authn.HTTP), httpserver.WithIdentity(auth.HTTPIdentity)}
}

// flagsFromEnv lets every flag of fs be set from the environment as
// A2AGRPC_<NAME> (upper case, "-" as "_"), for containers; the command
// line still wins.
func flagsFromEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "A2AGRPC_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}
