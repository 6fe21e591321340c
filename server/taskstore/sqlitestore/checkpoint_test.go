package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// TestCheckpointEmptiesAnOverlongLog: a reader holding an old snapshot
// keeps a passive checkpoint from copying the log; once the log is past
// the limit, the checkpoint waits for that reader to finish and empties
// the log instead of letting it grow.
func TestCheckpointEmptiesAnOverlongLog(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	tx := holdSnapshot(t, path)
	createTasks(t, s, 200)
	wal := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}

	// Under the limit, a passive checkpoint leaves the log to the reader.
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if wal() == 0 {
		t.Fatal("the log is empty while a reader holds an old snapshot")
	}
	// Past the limit, the checkpoint waits for the reader, then empties it.
	s.walLimit.Store(10)
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = tx.Rollback()
		close(released)
	}()
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-released:
	default:
		t.Fatal("the checkpoint returned before the reader finished")
	}
	if size := wal(); size != 0 {
		t.Errorf("the log holds %d bytes after an escalated checkpoint, want 0", size)
	}
	if _, err := s.Get(ctx, "t199"); err != nil {
		t.Errorf("after the checkpoint: %v", err)
	}
}

// TestCheckpointBacksOffFromAStuckReader: when a reader holds its snapshot
// past the escalation's wait, the checkpoint gives up after escalationWait
// and the next ones do not hold writers back again for a while.
func TestCheckpointBacksOffFromAStuckReader(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	holdSnapshot(t, path)
	createTasks(t, s, 50)
	s.walLimit.Store(10)
	began := time.Now()
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(began); waited < escalationWait/2 || waited > 10*escalationWait {
		t.Errorf("the escalated checkpoint took %v, want about %v", waited, escalationWait)
	}
	began = time.Now()
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(began); waited > escalationWait/2 {
		t.Errorf("the next checkpoint waited %v for the same stuck reader, want no wait", waited)
	}
	// Writes go on meanwhile.
	if err := s.Create(ctx, record("after", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
		t.Fatal(err)
	}
}

// holdSnapshot starts a read transaction on the database at path, from a
// connection of its own, and reads in it, so that it holds the current
// snapshot until it is rolled back (at the latest when the test ends).
func holdSnapshot(t *testing.T, path string) *sql.Tx {
	t.Helper()
	raw, err := openPool(path, 1, "busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	tx, err := raw.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM tasks").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return tx
}

// createTasks creates n SUBMITTED tasks, t000 on.
func createTasks(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		if err := s.Create(context.Background(), record(fmt.Sprintf("t%03d", i), a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
			t.Fatal(err)
		}
	}
}
