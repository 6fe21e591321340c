package sqlitestore

import (
	"context"
	"time"
)

// A checkpoint copies the pages committed to the write-ahead log back into
// the database file and, unless synchronous=OFF, fsyncs both: it is the
// only part of the write path that waits for the disk under
// synchronous=NORMAL. SQLite's automatic checkpoint runs it inside the
// commit that crosses the threshold, which makes every few dozenth request
// pay for two fsyncs — tens of milliseconds on a slow disk, and on such a
// disk the dominant cost of a write. So the writer's automatic checkpoint
// is off and a connection of its own checkpoints in the background:
// PASSIVE mode, which never blocks the writer nor the readers, and the
// writer restarts the log from its beginning once it is fully copied.

const (
	// checkpointEvery nudges the checkpointer after this many commits, a
	// few megabytes of log at the usual handful of pages per commit.
	checkpointEvery = 256
	// checkpointIdle checkpoints the tail of a burst.
	checkpointIdle = time.Second
)

func (s *Store) checkpointLoop(ctx context.Context) {
	t := time.NewTicker(checkpointIdle)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.w.nudge:
		case <-t.C:
		}
		// An error (the disk is failing) is not the checkpointer's to
		// report: the next write hits it too, and is answered with it.
		_ = s.checkpoint(ctx)
	}
}

// checkpoint copies as much of the log as it can without waiting for
// anyone. When the log is fully copied already, it costs next to nothing.
func (s *Store) checkpoint(ctx context.Context) error {
	_, err := s.ckdb.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	return err
}
