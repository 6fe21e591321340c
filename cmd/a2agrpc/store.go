package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/taskstore/pgstore"
	"github.com/a2agrpc/a2agrpc/server/taskstore/sqlitestore"
)

// defaultStore is where `a2agrpc serve` keeps its tasks unless told
// otherwise: an SQLite file in the working directory, so the demo agent
// keeps its tasks across restarts with nothing installed.
const defaultStore = "sqlite:a2agrpc.db"

// storeEnv sets -store from the environment (as [flagsFromEnv] does for
// every serve flag), for containers.
const storeEnv = "A2AGRPC_STORE"

const storeUsage = `where tasks are kept: "memory" (lost on exit), "sqlite:PATH" (durable, one process; the default), ` +
	`or a PostgreSQL URL "postgres://user@host:5432/db" (durable, shared by any number of replicas); env ` + storeEnv

// storeSettings are the -store flag and the retention flags that apply
// to it.
type storeSettings struct {
	spec      string
	maxTasks  int
	retention time.Duration
}

// openStore opens the task store named by spec. close releases it after
// the handler has stopped.
func openStore(ctx context.Context, s storeSettings) (store taskstore.Store, close func() error, err error) {
	spec := s.spec
	switch {
	case spec == "memory":
		return taskstore.NewMemory(taskstore.WithMaxTasks(s.maxTasks), taskstore.WithTerminalRetention(s.retention)),
			func() error { return nil }, nil
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return nil, nil, fmt.Errorf("-store %q: no file name", spec)
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, nil, err
			}
		}
		st, err := sqlitestore.Open(ctx, path, sqlitestore.WithTerminalRetention(s.retention))
		if err != nil {
			return nil, nil, err
		}
		return st, st.Close, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		st, err := pgstore.Open(ctx, spec, pgstore.WithTerminalRetention(s.retention))
		if err != nil {
			return nil, nil, err
		}
		return st, func() error { st.Close(); return nil }, nil
	}
	return nil, nil, fmt.Errorf(`-store %q: want "memory", "sqlite:PATH" or a postgres:// URL`, redacted(spec))
}

// redacted hides the password of a URL-shaped store spec, so that a
// mistyped scheme does not print it.
func redacted(spec string) string {
	if u, err := url.Parse(spec); err == nil && u.User != nil {
		return u.Redacted()
	}
	return spec
}
