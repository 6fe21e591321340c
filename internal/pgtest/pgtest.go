// Package pgtest is the one statement of how tests reach PostgreSQL: the
// database comes from A2A_TEST_POSTGRES_DSN (set by .ci/run), tests skip
// with a clear message without it and fail when it is set but unreachable,
// only a database on this machine is accepted (tests drop schemas and
// terminate backends), and each test works in a fresh schema of its own,
// dropped when it ends, so tests run in parallel against one database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DSNEnv names the test database.
const DSNEnv = "A2A_TEST_POSTGRES_DSN"

// DSN returns the test database's DSN, skipping the test when none is
// configured.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		t.Skip(DSNEnv + " not set: skipping PostgreSQL tests")
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("%s: %v", DSNEnv, err)
	}
	hosts := []string{cfg.Host}
	for _, fb := range cfg.Fallbacks {
		hosts = append(hosts, fb.Host)
	}
	for _, h := range hosts {
		if !isLoopback(h) {
			t.Fatalf("%s names host %q: the tests only run against a loopback or Unix-socket database", DSNEnv, h)
		}
	}
	return dsn
}

func isLoopback(host string) bool {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WithParam returns dsn with a connection parameter set, whichever of the
// two DSN forms it uses.
func WithParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "='" + value + "'"
}

// Schema creates a new, uniquely named schema in the test database (named
// after prefix) and drops it, with everything in it, when the test ends.
func Schema(t testing.TB, prefix string) string {
	t.Helper()
	schema := SchemaName(t, prefix)
	if err := exec(DSN(t), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("%s is set but PostgreSQL is unusable: %v", DSNEnv, err)
	}
	return schema
}

// SchemaName reserves a new, unique schema name without creating the
// schema, for tests of code that creates it; whatever exists under that
// name when the test ends is dropped.
func SchemaName(t testing.TB, prefix string) string {
	t.Helper()
	dsn := DSN(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := prefix + "_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if err := exec(dsn, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema
}

// exec runs one statement on a connection of its own.
func exec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}
