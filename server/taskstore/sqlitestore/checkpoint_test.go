package sqlitestore

import (
	"context"
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
	// A reader of the current snapshot, from a connection of its own.
	raw, err := openPool(path, 1, "busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM tasks").Scan(&n); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := s.Create(ctx, record(fmt.Sprintf("t%03d", i), a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
			t.Fatal(err)
		}
	}
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
