package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// KeepAlive implements [taskstore.Reaper]. The lease ends at the
// database's now() + ttl, so replicas with skewed clocks agree on it.
func (s *Store) KeepAlive(ctx context.Context, runner string, ttl time.Duration) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO runners (id, expires_at) VALUES ($1, now() + $2::bigint * interval '1 microsecond')
		ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`, runner, ttl.Microseconds())
	return s.fail(ctx, err)
}

// Release implements [taskstore.Reaper].
func (s *Store) Release(ctx context.Context, runner string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM runners WHERE id = $1`, runner)
	return s.fail(ctx, err)
}

// orphansSQL spells the two states as literals, as the partial index
// tasks_active does: the planner only uses a partial index for a query
// whose condition it can see implies the index's.
var orphansSQL = fmt.Sprintf(`
SELECT %s FROM tasks t
WHERE t.state IN (%d, %d) AND %s
  AND NOT EXISTS (SELECT 1 FROM runners r WHERE r.id = t.runner AND r.expires_at > now())
ORDER BY t.updated, t.id
LIMIT $1`, recordColumns,
	int32(a2av1.TaskState_TASK_STATE_SUBMITTED), int32(a2av1.TaskState_TASK_STATE_WORKING), liveTask)

// Orphans implements [taskstore.Reaper]. A task naming no runner, or one
// whose lease row was swept, has no live lease either.
func (s *Store) Orphans(ctx context.Context, limit int) ([]taskstore.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, orphansSQL, limit)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (taskstore.Record, error) { return scanRecord(row) })
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return recs, nil
}
