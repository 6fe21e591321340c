package pgreg

import "time"

// pruneLoop deletes logged changes older than the retention until Close.
// Every replica prunes; deleting rows another replica just deleted costs
// nothing. Ages are measured on the database's clock, the one that stamped
// the rows.
func (s *Store) pruneLoop() {
	t := time.NewTicker(min(s.cfg.changeRetention/2, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-s.life.Done():
			return
		case <-t.C:
		}
		// A failure is retried at the next tick; the log only grows
		// meanwhile.
		_, _ = s.pool.Exec(s.life,
			`DELETE FROM registry_changes WHERE created_at < now() - $1::bigint * interval '1 microsecond'`,
			s.cfg.changeRetention.Microseconds())
	}
}
