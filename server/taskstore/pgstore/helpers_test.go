package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/taskstore/storetest"
)

// TestMain fails the run if a test leaves goroutines behind: Close must
// stop the sweeper and the pool, and Watch must return when told to.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// openIn opens a store in schema, closed when the test ends. Its
// connections carry the schema as application_name, which is how tests
// find (and terminate) them.
func openIn(t testing.TB, schema string, opts ...Option) *Store {
	t.Helper()
	dsn := pgtest.WithParam(t, pgtest.DSN(t), "application_name", schema)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn, append([]Option{WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// newStore opens a store in a schema of its own.
func newStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openIn(t, pgtest.SchemaName(t, "pgstore_test"), opts...)
}

// admin returns a connection for inspecting and sabotaging the test
// database from outside the store.
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
// query matches query (ILIKE; "%" for all), waiting until they are gone,
// and reports how many there were.
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

// advance updates a task to state with a status timestamp offset after the
// suite's base time, logging a status event when withEvent is set, and
// returns the new version.
func advance(t testing.TB, s *Store, rec taskstore.Record, version int64, state a2av1.TaskState, offset time.Duration, withEvent, push bool) int64 {
	t.Helper()
	next := storetest.NewRecord(rec.Task.GetId(), rec.Task.GetContextId(), state, offset).Task
	u := taskstore.Update{Task: next, Push: push, Runner: rec.Runner}
	if withEvent {
		u.Event = &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_StatusUpdate{StatusUpdate: &a2av1.TaskStatusUpdateEvent{
			TaskId: next.GetId(), ContextId: next.GetContextId(), Status: next.GetStatus(),
		}}}
	}
	v, err := s.Update(context.Background(), rec.Task.GetId(), version, u)
	if err != nil {
		t.Fatalf("Update(%s, v%d): %v", rec.Task.GetId(), version, err)
	}
	return v
}

// create stores a new task in state and returns its record.
func create(t testing.TB, s *Store, id string, state a2av1.TaskState) taskstore.Record {
	t.Helper()
	rec := storetest.NewRecord(id, "ctx", state, 0)
	if err := s.Create(context.Background(), rec); err != nil {
		t.Fatalf("Create(%s): %v", id, err)
	}
	return rec
}

// seqsOf lists the sequence numbers of events.
func seqsOf(evs []taskstore.Event) []int64 {
	out := []int64{}
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

// eventually polls cond every 20ms until it holds or the timeout runs out.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countRows counts the rows of a table of schema, from outside the store.
func countRows(t testing.TB, conn *pgx.Conn, schema, table string) int {
	t.Helper()
	var n int
	q := "SELECT count(*) FROM " + pgx.Identifier{schema, table}.Sanitize()
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
