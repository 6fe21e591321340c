package pgstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// defaultPageSize applies when a query asks for no page size, as in the
// in-memory store.
const defaultPageSize = 50

// List implements [taskstore.Store].
//
// The page is a keyset scan of the (tenant, owner, updated, id) index from
// the cursor, so a page costs the same however deep it is. The total is a
// second statement sent in the same round trip; it counts every match,
// which for a caller with many tasks is the expensive half.
//
// Only the filters the query sets appear in the SQL, rather than
// "($n = ” OR context_id = $n)" conditions: a prepared statement's
// generic plan could not use the context index for those.
func (s *Store) List(ctx context.Context, q taskstore.Query) (taskstore.Page, error) {
	cursor := q.PageToken != ""
	var (
		afterUpdated int64
		afterID      string
	)
	if cursor {
		ts, id, err := taskstore.DecodeTaskCursor(q.PageToken)
		if err != nil {
			return taskstore.Page{}, err
		}
		afterUpdated, afterID = ts.UnixNano(), id
	}
	pageSize := q.PageSize
	if pageSize <= 0 {
		pageSize = defaultPageSize
	}

	var f filter
	f.add("t.tenant = ?", q.Tenant)
	f.add("t.owner = ?", q.Owner)
	if q.ContextID != "" {
		f.add("t.context_id = ?", q.ContextID)
	}
	if q.State != a2av1.TaskState_TASK_STATE_UNSPECIFIED {
		f.add("t.state = ?", int32(q.State))
	}
	if !q.UpdatedAfter.IsZero() {
		f.add("t.updated >= ?", q.UpdatedAfter.UnixNano())
	}
	countSQL := `SELECT count(*) FROM tasks t WHERE ` + f.where()
	countArgs := append([]any(nil), f.args...)
	if cursor {
		f.add("(t.updated, t.id) < (?, ?)", afterUpdated, afterID)
	}
	f.args = append(f.args, pageSize+1) // one more than the page: is there a next one?
	pageSQL := `SELECT ` + recordColumns + ` FROM tasks t WHERE ` + f.where() +
		` ORDER BY t.updated DESC, t.id DESC LIMIT $` + strconv.Itoa(len(f.args))

	batch := &pgx.Batch{}
	batch.Queue(countSQL, countArgs...)
	batch.Queue(pageSQL, f.args...)
	results := s.pool.SendBatch(ctx, batch)
	page, err := readPage(results, pageSize)
	if cerr := results.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return taskstore.Page{}, s.fail(ctx, err)
	}
	return page, nil
}

func readPage(results pgx.BatchResults, pageSize int) (taskstore.Page, error) {
	var page taskstore.Page
	var total int64
	if err := results.QueryRow().Scan(&total); err != nil {
		return page, err
	}
	page.TotalSize = int(total)
	rows, err := results.Query()
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return page, err
		}
		page.Records = append(page.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Records) > pageSize {
		page.Records = page.Records[:pageSize]
		last := page.Records[pageSize-1]
		page.NextPageToken = taskstore.EncodeTaskCursor(last.Updated, last.Task.GetId())
	}
	return page, nil
}

// filter builds the WHERE clause of a task query, numbering its
// placeholders; every query also requires the task not to have expired.
type filter struct {
	conds []string
	args  []any
}

// add appends a condition whose "?" placeholders take vals in order.
func (f *filter) add(cond string, vals ...any) {
	var b strings.Builder
	for _, part := range strings.SplitAfter(cond, "?") {
		if p, ok := strings.CutSuffix(part, "?"); ok {
			f.args = append(f.args, vals[0])
			vals = vals[1:]
			part = p + "$" + strconv.Itoa(len(f.args))
		}
		b.WriteString(part)
	}
	f.conds = append(f.conds, b.String())
}

func (f *filter) where() string {
	return strings.Join(f.conds, " AND ") + " AND " + liveTask
}

// CountByState implements [taskstore.Counter]: one pass over the tasks,
// skipping those past their retention as List does.
func (s *Store) CountByState(ctx context.Context) (map[a2av1.TaskState]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT t.state, count(*) FROM tasks t WHERE `+liveTask+` GROUP BY t.state`)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer rows.Close()
	counts := make(map[a2av1.TaskState]int64)
	for rows.Next() {
		var state int32
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, s.fail(ctx, err)
		}
		counts[a2av1.TaskState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	return counts, nil
}

var _ taskstore.Counter = (*Store)(nil)
