package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/registry"
	"github.com/a2agrpc/a2agrpc/router"
)

// discovery is a router whose pools come from a registry: what `workflow
// run -registry` and `gateway -registry` resolve capabilities through.
type discovery struct {
	reg *registry.Client
	res *registry.Resolver
	*router.Router
}

// openDiscovery connects to the registry at addr (gRPC host:port) and
// waits, within ctx, for its first snapshot, so a registry that cannot be
// reached is reported at once rather than as every call failing. Agents
// found are called with opts (TLS, credentials).
func openDiscovery(ctx context.Context, addr string, log *slog.Logger, opts []client.Option) (_ *discovery, err error) {
	rc, err := registry.Dial(addr)
	if err != nil {
		return nil, err
	}
	res := registry.NewResolver(rc, log)
	defer func() {
		if err != nil {
			res.Close()
			rc.Close()
		}
	}()
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := res.Resolve(wait, nil); err != nil {
		return nil, fmt.Errorf("registry %s: %w", addr, err)
	}
	r, err := router.New(res, router.WithClientOptions(opts...), router.WithLogger(log))
	if err != nil {
		return nil, err
	}
	return &discovery{reg: rc, res: res, Router: r}, nil
}

// Close closes the router, the watch and the registry connection.
func (d *discovery) Close() error {
	err := d.Router.Close()
	d.res.Close()
	if cerr := d.reg.Close(); err == nil {
		err = cerr
	}
	return err
}
