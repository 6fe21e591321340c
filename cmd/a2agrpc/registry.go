package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/cardsign"
	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/registry"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/pgreg"
	"github.com/a2agrpc/a2agrpc/registry/regstore/sqlitereg"
)

// defaultRegistryStore keeps the registry's registrations in an SQLite file
// in the working directory, so a restarted registry still knows its agents.
const defaultRegistryStore = "sqlite:a2agrpc-registry.db"

// registrySecurityFlags are the flags of serve's security that apply to
// the registry: TLS, mutual TLS and the token schemes. Rate limits and
// card signing concern agents.
var registrySecurityFlags = []string{
	"tls-cert", "tls-key", "client-ca", "allow",
	"jwt-jwks-url", "jwt-keys", "jwt-hs256-secret-file", "jwt-issuer", "jwt-audience",
	"api-keys", "api-key-header", "auth-any",
}

// agentTLSFlags are the client TLS flags, offered as -agent-<name>, with
// which the registry reaches agents served over (mutual) TLS.
var agentTLSFlags = []string{"ca", "cert", "key", "server-name"}

// runRegistry runs the discovery registry until the context ends.
func runRegistry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:50070", "gRPC listen address (host:port; port 0 picks a free port)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8070", "REST listen address, with the watch as SSE at "+registry.WatchPath+" (empty: no REST)")
	storeSpec := fs.String("store", defaultRegistryStore, `where registrations are kept: "memory" (lost on exit), "sqlite:PATH" (durable, one registry), or a PostgreSQL URL "postgres://user@host:5432/db" (durable, shared by several registry replicas)`)
	ttl := fs.Duration("ttl", registry.DefaultTTL, "lease of registrations that ask for none")
	minTTL := fs.Duration("min-ttl", registry.MinTTL, "least lease granted (shorter requests are raised to it)")
	maxTTL := fs.Duration("max-ttl", registry.MaxTTL, "greatest lease granted (longer requests are cut to it)")
	sweep := fs.Duration("sweep-interval", registry.DefaultSweepInterval, "how often expired registrations are removed")
	probeEvery := fs.Duration("probe-interval", 0, "probe every agent's health this often (gRPC health, or its Agent Card over HTTP); failing agents are left out of searches, and agents registered by URL are kept alive by passing probes; 0: no probes")
	probeTimeout := fs.Duration("probe-timeout", 0, "bound of one probe (default: the interval, at most 5s)")
	cardKeys := fs.String("card-keys", "", "comma-separated JWKS or PEM public key files: signed Agent Cards must verify with one of these keys (and are marked cardVerified)")
	requireSigned := fs.Bool("require-signed", false, "refuse Agent Cards without a signature (use with -card-keys)")
	adminAddr := fs.String("admin-addr", "", "serve /healthz, /readyz and Prometheus /metrics on this address (empty: none)")
	drain := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for calls in flight")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	logLevel := fs.String("log-level", "info", "least severe level logged: debug (every call), info (registrations and failed calls), warn or error")
	verbose := fs.Bool("v", false, "the same as -log-level debug")
	var sec securityFlags
	var agentTLS clientFlags
	adoptFlags(fs, sec.register, "", registrySecurityFlags)
	adoptFlags(fs, agentTLS.register, "agent-", agentTLSFlags)
	if err := flagsFromEnv(fs); err != nil {
		fmt.Fprintln(stderr, "a2agrpc:", err)
		return errUsage
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("registry takes no arguments, got %q", fs.Args())}
	}
	if *verbose {
		*logLevel = "debug"
	}
	logger, err := newLogger(*logFormat, *logLevel, stderr)
	if err != nil {
		return err
	}
	opts := []registry.Option{
		registry.WithDefaultTTL(*ttl), registry.WithTTLBounds(*minTTL, *maxTTL),
		registry.WithSweepInterval(*sweep), registry.WithProbes(*probeEvery, *probeTimeout),
		registry.WithRequireSignedCards(*requireSigned),
	}
	if *probeEvery > 0 && *probeEvery >= *minTTL {
		fmt.Fprintf(stderr, "a2agrpc: warning: -probe-interval %s is not below -min-ttl %s: agents registered by URL may expire between probes\n", *probeEvery, *minTTL)
	}
	if *cardKeys != "" {
		keys, err := cardsign.LoadKeySet(a2agrpc.SplitList(*cardKeys)...)
		if err != nil {
			return fmt.Errorf("-card-keys: %w", err)
		}
		opts = append(opts, registry.WithCardKeys(keys))
	}
	tc, err := agentTLS.tlsConfig()
	if err != nil {
		return usageError{err}
	}
	if tc != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		opts = append(opts, registry.WithProbeClientOptions(client.WithTLS(tc)), registry.WithHTTPClient(&http.Client{Transport: tr}))
	}
	secured, err := sec.open(ctx)
	if err != nil {
		return err
	}
	defer secured.Close()
	store, err := openRegistryStore(ctx, *storeSpec)
	if err != nil {
		return fmt.Errorf("opening the registry store: %w", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			fmt.Fprintln(stderr, "a2agrpc: closing the registry store:", err)
		}
	}()
	cfg := registry.Config{
		GRPCAddr: *grpcAddr, HTTPAddr: *httpAddr, TLS: secured.tls, Auth: secured.authn,
		Store: store, Options: opts, Logger: logger,
	}
	if *httpAddr == "" {
		cfg.HTTPAddr = "-"
	}
	if *adminAddr != "" {
		cfg.AdminAddr, cfg.Metrics = *adminAddr, prometheus.NewRegistry()
		cfg.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	srv, err := registry.Start(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "a2agrpc: registry on gRPC %s (store %s)\n", srv.Addr(), redacted(*storeSpec))
	if u := srv.URL(); u != "" {
		fmt.Fprintf(stdout, "a2agrpc: registry REST on %s (watch: %s%s)\n", u, u, registry.WatchPath)
	}
	if a := srv.AdminAddr(); a != "" {
		fmt.Fprintf(stdout, "a2agrpc: /healthz, /readyz and /metrics on http://%s\n", a)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- srv.Wait() }()
	var serveErr error
	select {
	case serveErr = <-stopped:
	case <-ctx.Done():
		fmt.Fprintln(stdout, "a2agrpc: shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	return errors.Join(serveErr, srv.Shutdown(sctx))
}

// adoptFlags registers, on fs, the flags named in names that register
// would define, prefixed: so the registry offers exactly the flags of
// serve and the client commands that apply to it, with their meaning and
// help unchanged.
func adoptFlags(fs *flag.FlagSet, register func(*flag.FlagSet), prefix string, names []string) {
	scratch := flag.NewFlagSet("", flag.ContinueOnError)
	register(scratch)
	for _, name := range names {
		if f := scratch.Lookup(name); f != nil {
			fs.Var(f.Value, prefix+name, f.Usage)
		}
	}
}

// openRegistryStore opens the registry store named by spec.
func openRegistryStore(ctx context.Context, spec string) (regstore.Store, error) {
	switch {
	case spec == "memory":
		return regstore.NewMemory(), nil
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return nil, usageError{fmt.Errorf("-store %q: no file name", spec)}
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
		}
		return sqlitereg.Open(path)
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		return pgreg.Open(ctx, spec)
	}
	return nil, usageError{fmt.Errorf(`-store %q: want "memory", "sqlite:PATH" or a postgres:// URL`, redacted(spec))}
}
