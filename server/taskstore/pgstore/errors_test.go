package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

func TestClassify(t *testing.T) {
	live := context.Background()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	pgErr := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code}) }
	for _, tt := range []struct {
		name        string
		ctx         context.Context
		err         error
		closed      bool
		unavailable bool
		lost        bool
	}{
		{"nil", live, nil, false, false, false},
		{"terminated backend", live, pgErr("57P01"), false, true, true},
		{"server starting", live, pgErr("57P03"), false, true, true},
		{"connection failure", live, pgErr("08006"), false, true, true},
		{"too many connections", live, pgErr("53300"), false, true, true},
		{"unique violation", live, pgErr("23505"), false, false, false},
		{"syntax error", live, pgErr("42601"), false, false, false},
		{"connect failed", live, &pgconn.ConnectError{}, false, true, false},
		{"connection reset", live, &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, false, true, true},
		{"eof", live, fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), false, true, true},
		{"internal timeout", live, fmt.Errorf("dial: %w", context.DeadlineExceeded), false, true, true},
		{"caller canceled", canceled, fmt.Errorf("query: %w", context.Canceled), false, false, false},
		{"no rows", live, pgx.ErrNoRows, false, false, false},
		{"store closed", live, errors.New("closed pool"), true, true, false},
		{"server answer while closing", live, pgErr("23505"), true, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, lost := classify(tt.ctx, tt.err, tt.closed)
			if errors.Is(got, taskstore.ErrUnavailable) != tt.unavailable || lost != tt.lost {
				t.Errorf("classify = %v (lost %v); want unavailable=%v lost=%v", got, lost, tt.unavailable, tt.lost)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("classify = %v, which no longer wraps %v", got, tt.err)
			}
		})
	}
}

// TestOpenUnreachable: a database nobody answers for is ErrUnavailable,
// at once rather than after some timeout. It needs no database.
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	start := time.Now()
	s, err := Open(context.Background(), "postgres://postgres@"+addr+"/test?sslmode=disable")
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded against a closed port")
	}
	if !errors.Is(err, taskstore.ErrUnavailable) {
		t.Errorf("Open = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %v to fail", d)
	}
}

// TestCallerContextStays: a call whose own context ended reports that, not
// an unavailable database.
func TestCallerContextStays(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Get(ctx, "t1")
	if !errors.Is(err, context.Canceled) || errors.Is(err, taskstore.ErrUnavailable) {
		t.Errorf("Get with a canceled context = %v, want context.Canceled alone", err)
	}
}

// TestClosedStore: calls after Close are ErrUnavailable.
func TestClosedStore(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.Close()
	s.Close() // idempotent
	if _, err := s.Get(context.Background(), "t1"); !errors.Is(err, taskstore.ErrUnavailable) {
		t.Errorf("Get after Close = %v, want ErrUnavailable", err)
	}
}

// TestPoolRecoversSequential: after every backend of the store is
// terminated, at most the next call fails, with ErrUnavailable, and the
// ones after it succeed on new connections.
func TestPoolRecoversSequential(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	s := openIn(t, schema)
	ctx := context.Background()
	rec := create(t, s, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	warm(t, s)
	if n := terminate(t, admin(t), schema, "%"); n == 0 {
		t.Fatal("no backend to terminate")
	}
	failures := 0
	version := rec.Version + 1
	for i := range 20 {
		var err error
		if i%2 == 0 {
			_, err = s.Get(ctx, "t1")
		} else {
			var v int64
			if v, err = s.Update(ctx, "t1", version, workingUpdate(rec)); err == nil {
				version = v
			}
		}
		if err != nil {
			if !errors.Is(err, taskstore.ErrUnavailable) {
				t.Fatalf("call %d: %v, want ErrUnavailable or success", i, err)
			}
			failures++
		}
	}
	t.Logf("%d calls failed", failures)
	if failures > 1 {
		t.Errorf("%d calls failed after the backends were terminated, want at most 1", failures)
	}
	if got, err := s.Get(ctx, "t1"); err != nil || got.Version != version {
		t.Errorf("Get = v%d, %v; want v%d", got.Version, err, version)
	}
}

// TestPoolRecoversConcurrent: backends terminated under load make the calls
// then on them fail with ErrUnavailable, never with anything else, at most
// once per pooled connection, and every caller carries on afterwards.
func TestPoolRecoversConcurrent(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	s := openIn(t, schema)
	create(t, s, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	adm := admin(t)

	const workers = 4
	var (
		mu       sync.Mutex
		failures int
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := s.Get(context.Background(), "t1")
				if err != nil {
					if !errors.Is(err, taskstore.ErrUnavailable) {
						t.Errorf("Get: %v, want ErrUnavailable or success", err)
						return
					}
					mu.Lock()
					failures++
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := terminate(t, adm, schema, "%"); n == 0 {
		t.Error("no backend to terminate")
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d calls failed", failures)
	if max := int(s.pool.Stat().MaxConns()); failures > max {
		t.Errorf("%d calls failed, more than the %d pooled connections", failures, max)
	}
	for i := range workers {
		if _, err := s.Get(context.Background(), "t1"); err != nil {
			t.Errorf("Get %d after recovery: %v", i, err)
		}
	}
}

// warm opens several pooled connections, so that terminating them leaves
// idle dead connections in the pool.
func warm(t *testing.T, s *Store) {
	t.Helper()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := s.pool.Exec(context.Background(), "SELECT pg_sleep(0.05)"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// workingUpdate is an update that changes nothing visible but the version.
func workingUpdate(rec taskstore.Record) taskstore.Update {
	return taskstore.Update{Task: &a2av1.Task{Id: rec.Task.GetId(), ContextId: rec.Task.GetContextId(),
		Status: &a2av1.TaskStatus{State: a2av1.TaskState_TASK_STATE_WORKING}}}
}

// TestStatementTimeout: a statement stuck behind a lock fails with
// ErrUnavailable once the statement timeout runs out, and the store works
// again as soon as the lock is gone.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	s := openIn(t, schema, WithStatementTimeout(200*time.Millisecond))
	ctx := context.Background()
	create(t, s, "t1", a2av1.TaskState_TASK_STATE_WORKING)

	conn := admin(t)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(`LOCK TABLE %q.tasks IN ACCESS EXCLUSIVE MODE`, schema)); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = s.Get(ctx, "t1")
	if !errors.Is(err, taskstore.ErrUnavailable) || !strings.Contains(err.Error(), "statement timed out") {
		t.Errorf("Get behind a lock = %v, want ErrUnavailable (statement timed out)", err)
	}
	if waited := time.Since(began); waited > 10*time.Second {
		t.Errorf("Get waited %v for a 200ms statement timeout", waited)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "t1"); err != nil {
		t.Errorf("Get after the lock was released = %v", err)
	}
}
