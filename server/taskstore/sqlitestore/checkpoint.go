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
//
// The writer can only restart the log while no reader is using it. Under
// a steady read load (readers overlapping at every moment) that never
// happens, and the log, with it the file and the cost of every read, would
// grow without bound. So once the log is past walLimit frames, the
// checkpointer escalates to TRUNCATE, which waits for the readers of old
// snapshots to finish, holding new writes back meanwhile, copies
// everything and empties the log. Reads are short, so the pause is short;
// it is bounded by escalationWait, and after an escalation that could not
// finish (a reader held its snapshot longer) the next waits
// escalationBackoff, so a stuck reader costs writers one pause a minute,
// not one per checkpoint.

const (
	// checkpointEvery nudges the checkpointer after this many commits, a
	// few megabytes of log at the usual handful of pages per commit.
	checkpointEvery = 256
	// checkpointIdle checkpoints the tail of a burst.
	checkpointIdle = time.Second
	// defaultWALLimit is the log size, in frames (pages), past which a
	// checkpoint escalates to TRUNCATE: 64 MiB at the default 4 KiB page
	// size, the journal_size_limit the writer keeps after a restart.
	defaultWALLimit = 16384
	// escalationWait is the checkpoint connection's busy timeout: how long
	// a TRUNCATE checkpoint waits for readers (and holds writers back).
	escalationWait = time.Second
	// escalationBackoff separates an escalation that could not finish
	// from the next.
	escalationBackoff = time.Minute
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
// A log past walLimit frames is emptied instead (see above).
func (s *Store) checkpoint(ctx context.Context) error {
	var busy, frames, copied int64
	if err := s.ckdb.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		return err
	}
	if frames <= s.walLimit.Load() || time.Now().UnixNano() < s.escalateAfter.Load() {
		return nil
	}
	if err := s.ckdb.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied); err != nil {
		return err
	}
	if busy != 0 {
		s.escalateAfter.Store(time.Now().Add(escalationBackoff).UnixNano())
	}
	return nil
}
