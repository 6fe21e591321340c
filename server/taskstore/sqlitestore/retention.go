package sqlitestore

import (
	"context"
	"time"
)

// Expired tasks are invisible as soon as they expire (every read tests the
// retention cutoffs); the sweep only reclaims their space. It deletes in
// small batches, each its own transaction, so that it never holds the
// writer for long: requests interleave with a large sweep instead of
// waiting for it. Deleting a task cascades to its events, push configs and
// queued deliveries.

const sweepBatch = 256

const (
	sqlSweepTasks = `DELETE FROM tasks WHERE rid IN (
    SELECT rid FROM tasks WHERE terminal_at <= ?1 OR waiting_at <= ?2 LIMIT ?3)`
	// An expired lease means the same as no lease.
	sqlSweepRunners = `DELETE FROM runners WHERE expires_at <= ?1`
)

func (s *Store) sweepLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.sweepInterval)
	defer t.Stop()
	for {
		// Errors are not fatal: the next tick tries again, and reads do
		// not depend on the sweep.
		_, _ = s.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep deletes expired tasks and leases, returning how many tasks it
// deleted.
func (s *Store) sweep(ctx context.Context) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(ctx context.Context, w *writer) error {
			now := s.now()
			term, wait := s.cutoffs(now)
			var err error
			if n, err = affected(ctx, w.sweepTasks, term, wait, sweepBatch); err != nil {
				return err
			}
			if n < sweepBatch {
				_, err = w.sweepRunners.ExecContext(ctx, now)
			}
			return err
		})
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}
