package sqlitestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Runner leases. One process owns the file, so the only runner whose lease
// matters at any time is that process's own; the table exists so that a
// restarted server recognises the previous process's unfinished work.
// Open deletes every lease (the file lock proves their holders are gone),
// so after a crash and restart the old process's SUBMITTED and WORKING
// tasks are orphans at once rather than after its lease would have run
// out.

const (
	sqlKeepAlive = `INSERT INTO runners (id, expires_at) VALUES (?1, ?2)
ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`
	sqlReleaseRunner = `DELETE FROM runners WHERE id = ?1`

	// SUBMITTED (1) and WORKING (2) tasks, via the tasks_active partial
	// index, whose runner holds no live lease. The retention test only
	// matters for a task that left a terminal state, which the server
	// never does, but keeps expired tasks invisible here as everywhere.
	sqlOrphans = `SELECT t.id, t.owner, t.tenant, t.updated, t.version, t.runner, t.task FROM tasks t
WHERE t.state IN (1, 2)
    AND NOT EXISTS (SELECT 1 FROM runners r WHERE r.id = t.runner AND r.expires_at > ?1)
    AND (t.terminal_at IS NULL OR t.terminal_at > ?3)
ORDER BY t.updated, t.id LIMIT ?2`
)

// KeepAlive implements [taskstore.Reaper].
func (s *Store) KeepAlive(ctx context.Context, runner string, ttl time.Duration) error {
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		_, err := w.keepAlive.ExecContext(ctx, runner, s.now()+int64(ttl))
		return err
	})
}

// Release implements [taskstore.Reaper].
func (s *Store) Release(ctx context.Context, runner string) error {
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		_, err := w.releaseRunner.ExecContext(ctx, runner)
		return err
	})
}

// Orphans implements [taskstore.Reaper].
func (s *Store) Orphans(ctx context.Context, limit int) ([]taskstore.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := s.now()
	term, _ := s.cutoffs(now)
	rows, err := s.r.orphans.QueryContext(ctx, now, limit, term)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	var out []taskstore.Record
	for rows.Next() {
		var (
			id, owner, tenant, runner string
			updated, version          int64
			blob                      sql.RawBytes
		)
		if err := rows.Scan(&id, &owner, &tenant, &updated, &version, &runner, &blob); err != nil {
			return nil, s.classify(err)
		}
		rec, err := decodeRecord(id, owner, tenant, updated, version, runner, blob)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(err)
	}
	return out, nil
}
