package pgstore

import (
	"context"
	"time"
)

// sweepBatch bounds how many tasks one sweep statement deletes, so that a
// sweep after a long outage does not hold locks on (and cascade into the
// events of) a huge number of rows in one transaction.
const sweepBatch = 500

// sweepLoop deletes expired tasks every sweep interval until Close. Readers
// already skip expired rows, so a failed sweep only delays reclaiming their
// space; the next tick tries again and the error is not reported.
func (s *Store) sweepLoop() {
	defer close(s.swept)
	tick := time.NewTicker(s.cfg.sweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.life.Done():
			return
		case <-tick.C:
			_ = s.sweep(s.life)
		}
	}
}

// sweep deletes expired tasks (their events, push configs and queued
// deliveries go with them) and runner leases that ran out. Replicas sweep
// concurrently without waiting on each other: SKIP LOCKED gives each the
// rows nobody else is deleting.
func (s *Store) sweep(ctx context.Context) error {
	for {
		tag, err := s.pool.Exec(ctx, `
			DELETE FROM tasks WHERE id IN (
				SELECT id FROM tasks WHERE expires_at <= now()
				ORDER BY expires_at LIMIT $1
				FOR UPDATE SKIP LOCKED)`, sweepBatch)
		if err != nil {
			return s.fail(ctx, err)
		}
		if tag.RowsAffected() < sweepBatch {
			break
		}
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM runners WHERE expires_at <= now()`)
	return s.fail(ctx, err)
}
