package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/cardsign"
	"github.com/a2agrpc/a2agrpc/client"
)

// clientFlags are the flags of every command that calls an agent.
type clientFlags struct {
	url, transport       string
	asJSON               bool
	timeout              time.Duration
	tenant, extensions   string
	token, tokenFile     string
	apiKey, apiKeyHeader string
	ca, cert, key        string
	serverName           string
	cardKeys             string
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "the agent's base URL (its Agent Card is read from <url>/.well-known/agent-card.json)")
	fs.StringVar(&f.transport, "transport", "", "comma-separated transports in order of preference: mesh, grpc, rest, jsonrpc (default: mesh,grpc,rest,jsonrpc — the first the card offers)")
	fs.BoolVar(&f.asJSON, "json", false, "print ProtoJSON (one object per line for streams) instead of text")
	fs.DurationVar(&f.timeout, "timeout", client.DefaultTimeout, "bound of each unary call (streams run until they end or Ctrl-C)")
	fs.StringVar(&f.tenant, "tenant", "", "tenant of every request")
	fs.StringVar(&f.extensions, "extensions", "", "comma-separated extension URIs to activate (A2A-Extensions)")
	fs.StringVar(&f.token, "token", "", "bearer token sent as Authorization (prefer -token-file or A2AGRPC_TOKEN: flags show in ps)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token")
	fs.StringVar(&f.apiKey, "api-key", "", "API key (or A2AGRPC_API_KEY)")
	fs.StringVar(&f.apiKeyHeader, "api-key-header", client.DefaultAPIKeyHeader, "header carrying the API key")
	fs.StringVar(&f.ca, "ca", "", "PEM CA bundle that verifies the agent's certificate (default: the system roots)")
	fs.StringVar(&f.cert, "cert", "", "PEM client certificate for mutual TLS")
	fs.StringVar(&f.key, "key", "", "PEM private key of -cert")
	fs.StringVar(&f.serverName, "server-name", "", "name to verify the agent's certificate against (default: the host dialled)")
	fs.StringVar(&f.cardKeys, "card-keys", "", "comma-separated JWKS or PEM public key files: refuse an Agent Card not signed by one of these keys")
}

// options turns the flags into client options.
func (f *clientFlags) options() ([]client.Option, error) {
	opts := []client.Option{client.WithTimeout(f.timeout)}
	if f.transport != "" {
		var names []string
		for _, t := range a2agrpc.SplitList(f.transport) {
			name, ok := transportNames[strings.ToLower(t)]
			if !ok {
				return nil, fmt.Errorf("-transport: unknown transport %q (mesh, grpc, rest, jsonrpc)", t)
			}
			names = append(names, name)
		}
		opts = append(opts, client.WithTransports(names...))
	}
	if f.tenant != "" {
		opts = append(opts, client.WithTenant(f.tenant))
	}
	if ext := a2agrpc.SplitList(f.extensions); len(ext) > 0 {
		opts = append(opts, client.WithExtensions(ext...))
	}
	token, err := f.bearer()
	if err != nil {
		return nil, err
	}
	if token != "" {
		opts = append(opts, client.WithBearerToken(token))
	}
	if key := cmp.Or(f.apiKey, os.Getenv("A2AGRPC_API_KEY")); key != "" {
		opts = append(opts, client.WithAPIKey(f.apiKeyHeader, key))
	}
	tc, err := f.tlsConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, client.WithTLS(tc))
	}
	if f.cardKeys != "" {
		keys, err := cardsign.LoadKeySet(a2agrpc.SplitList(f.cardKeys)...)
		if err != nil {
			return nil, fmt.Errorf("-card-keys: %w", err)
		}
		opts = append(opts, client.WithCardKeys(keys))
	}
	return opts, nil
}

var transportNames = map[string]string{
	"mesh": client.TransportMesh, "grpc": client.TransportGRPC,
	"rest": client.TransportREST, "http+json": client.TransportREST, "http": client.TransportREST,
	"jsonrpc": client.TransportJSONRPC, "json-rpc": client.TransportJSONRPC,
}

func (f *clientFlags) bearer() (string, error) {
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return "", fmt.Errorf("-token-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return cmp.Or(f.token, os.Getenv("A2AGRPC_TOKEN")), nil
}

// tlsConfig is nil when no TLS flag is given: TLS is then used only where
// the card's URLs say https, with the system roots.
func (f *clientFlags) tlsConfig() (*tls.Config, error) {
	if f.ca == "" && f.cert == "" && f.serverName == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.serverName}
	if f.ca != "" {
		pem, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, fmt.Errorf("-ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca: %s holds no PEM certificate", f.ca)
		}
	}
	if (f.cert == "") != (f.key == "") {
		return nil, errors.New("-cert and -key go together")
	}
	if f.cert != "" {
		pair, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("-cert/-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// dial reads the card and connects.
func (f *clientFlags) dial(ctx context.Context) (*client.Client, error) {
	opts, err := f.options()
	if err != nil {
		return nil, usageError{err}
	}
	return client.New(ctx, f.url, opts...)
}
