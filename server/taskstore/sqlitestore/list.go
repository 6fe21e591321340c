package sqlitestore

import (
	"context"
	"database/sql"
	"math"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// ListTasks walks the tasks_list index: scope equality, then newest
// Updated first, with (updated, id) as a unique, exact key, so a page
// token resumes precisely after the last task it returned even while
// tasks are added or updated.
//
// Parameters, shared by all variants: ?1 tenant, ?2 owner, ?3 lower bound
// of updated, ?4 state (0: any), ?5 ?6 retention cutoffs, ?7 context id,
// ?8 ?9 cursor (updated, id), ?10 limit.
const (
	listFilter = `tenant = ?1 AND owner = ?2 AND updated >= ?3 AND (?4 = 0 OR state = ?4)
    AND (terminal_at IS NULL OR terminal_at > ?5) AND (waiting_at IS NULL OR waiting_at > ?6)`
	listByContext = ` AND context_id = ?7`
	listAfter     = ` AND (updated, id) < (?8, ?9)`
)

func listSQL(cursor, byContext bool) string {
	q := `SELECT id, owner, tenant, updated, version, runner, task FROM tasks WHERE ` + listFilter
	if byContext {
		q += listByContext
	}
	if cursor {
		q += listAfter
	}
	return q + ` ORDER BY updated DESC, id DESC LIMIT ?10`
}

// countSQL counts the matches of a query regardless of paging. Without a
// context filter it reads only the index.
func countSQL(byContext bool) string {
	q := `SELECT count(*) FROM tasks WHERE ` + listFilter
	if byContext {
		q += listByContext
	}
	return q
}

// List implements [taskstore.Store]. The page and its total come from one
// read transaction, so they agree with each other. Counting costs a walk
// over the caller's matching tasks (in the index when no context filter
// is given); the page itself costs O(page size) from the cursor on.
func (s *Store) List(ctx context.Context, q taskstore.Query) (taskstore.Page, error) {
	var cursorUpdated int64
	var cursorID string
	cursor := q.PageToken != ""
	if cursor {
		ts, id, err := taskstore.DecodeTaskCursor(q.PageToken)
		if err != nil {
			return taskstore.Page{}, err
		}
		cursorUpdated, cursorID = ts.UnixNano(), id
	}
	pageSize := q.PageSize
	if pageSize <= 0 {
		pageSize = 50
	}
	minUpdated := int64(math.MinInt64)
	if !q.UpdatedAfter.IsZero() {
		minUpdated = q.UpdatedAfter.UnixNano()
	}
	byContext := q.ContextID != ""
	term, wait := s.cutoffs(s.now())
	args := []any{q.Tenant, q.Owner, minUpdated, int64(q.State), term, wait, q.ContextID, cursorUpdated, cursorID, pageSize + 1}

	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return taskstore.Page{}, s.classify(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to undo
	var page taskstore.Page
	if err := tx.StmtContext(ctx, s.r.count[btoi(byContext)]).QueryRowContext(ctx, args...).Scan(&page.TotalSize); err != nil {
		return taskstore.Page{}, s.classify(err)
	}
	rows, err := tx.StmtContext(ctx, s.r.list[btoi(cursor)][btoi(byContext)]).QueryContext(ctx, args...)
	if err != nil {
		return taskstore.Page{}, s.classify(err)
	}
	defer rows.Close()
	var lastUpdated int64
	for rows.Next() {
		if len(page.Records) == pageSize {
			last := page.Records[len(page.Records)-1]
			page.NextPageToken = taskstore.EncodeTaskCursor(time.Unix(0, lastUpdated), last.Task.GetId())
			break
		}
		var (
			id, owner, tenant, runner string
			updated, version          int64
			blob                      sql.RawBytes
		)
		if err := rows.Scan(&id, &owner, &tenant, &updated, &version, &runner, &blob); err != nil {
			return taskstore.Page{}, s.classify(err)
		}
		rec, err := decodeRecord(id, owner, tenant, updated, version, runner, blob)
		if err != nil {
			return taskstore.Page{}, err
		}
		page.Records = append(page.Records, rec)
		lastUpdated = updated
	}
	if err := rows.Err(); err != nil {
		return taskstore.Page{}, s.classify(err)
	}
	return page, nil
}

// CountByState implements [taskstore.Counter]: one pass over the tasks,
// skipping those past their retention as List does.
func (s *Store) CountByState(ctx context.Context) (map[a2av1.TaskState]int64, error) {
	term, wait := s.cutoffs(s.now())
	rows, err := s.rdb.QueryContext(ctx, `SELECT state, count(*) FROM tasks
    WHERE (terminal_at IS NULL OR terminal_at > ?1) AND (waiting_at IS NULL OR waiting_at > ?2) GROUP BY state`, term, wait)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	counts := make(map[a2av1.TaskState]int64)
	for rows.Next() {
		var state int32
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, s.classify(err)
		}
		counts[a2av1.TaskState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(err)
	}
	return counts, nil
}

var _ taskstore.Counter = (*Store)(nil)
