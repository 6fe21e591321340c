package pgreg

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/a2agrpc/a2agrpc/internal/pgtest"
)

// TestMain fails the run if a test leaves goroutines behind: Close must
// stop the listener and the pruner.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// openIn opens a store on schema (created by the store), closed when the
// test ends. Its connections carry the schema as application_name, which
// is how tests find (and terminate) them.
func openIn(t testing.TB, schema string, opts ...Option) *Store {
	t.Helper()
	dsn := pgtest.WithParam(t, pgtest.DSN(t), "application_name", schema)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn, append([]Option{WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// admin returns a connection for inspecting and sabotaging the test
// database from outside the stores.
func admin(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// terminate ends the backends of schema's stores whose current or last
// query matches query (ILIKE), waiting until they are gone, and returns
// how many there were.
func terminate(t testing.TB, conn *pgx.Conn, schema, query string) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
		FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid() AND query ILIKE $2`, schema, query).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
