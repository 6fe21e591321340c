package sqlitestore

import (
	"context"
	"strings"
	"testing"
)

// TestQueryPlans guards the statements whose cost must not grow with the
// store: each must search an index, and the list must come out of the
// index in order, with no sort.
func TestQueryPlans(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name, sql string
		want      []string // substrings of the plan
		forbid    []string
	}{
		{"get", sqlGetTask, []string{"USING INDEX sqlite_autoindex_tasks_1 (id=?)"}, []string{"SCAN"}},
		{"events", sqlEvents, []string{"SEARCH t", "SEARCH e USING PRIMARY KEY (task_rid=? AND seq>?)"}, []string{"SCAN"}},
		{"update", sqlUpdateTask, []string{"USING INDEX sqlite_autoindex_tasks_1 (id=?)"}, []string{"SCAN"}},
		{"insert_event", sqlInsertEvent, []string{"USING COVERING INDEX sqlite_autoindex_tasks_1 (id=?)"}, []string{"SCAN"}},
		{"list", listSQL(false, false), []string{"USING INDEX tasks_list (tenant=? AND owner=? AND updated>?)"}, []string{"TEMP B-TREE", "SCAN"}},
		{"list_cursor", listSQL(true, false), []string{"USING INDEX tasks_list (tenant=? AND owner=?"}, []string{"TEMP B-TREE", "SCAN"}},
		{"list_context", listSQL(true, true), []string{"USING INDEX tasks_list"}, []string{"TEMP B-TREE", "SCAN"}},
		{"count", countSQL(false), []string{"USING COVERING INDEX tasks_list"}, []string{"SCAN"}},
		{"orphans", sqlOrphans, []string{"USING INDEX tasks_active"}, nil}, // few tasks are in flight: sorting them is cheap
		{"claim", sqlClaimDue, []string{"USING INDEX push_outbox_due"}, []string{"TEMP B-TREE"}},
		{"sweep", sqlSweepTasks, []string{"tasks_terminal", "tasks_waiting", "SEARCH task_events USING PRIMARY KEY (task_rid=?)"}, []string{"SCAN"}},
		{"enqueue", sqlEnqueue, []string{"SEARCH c USING PRIMARY KEY (task_id=?)", "push_outbox_webhook"}, []string{"SCAN"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]any, 13) // every statement numbers fewer parameters
			for i := range args {
				args[i] = int64(0)
			}
			rows, err := s.w.conn.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tt.sql, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			joined := strings.Join(plan, "\n")
			for _, w := range tt.want {
				if !strings.Contains(joined, w) {
					t.Errorf("plan lacks %q:\n%s", w, joined)
				}
			}
			for _, f := range tt.forbid {
				if strings.Contains(joined, f) {
					t.Errorf("plan has %q:\n%s", f, joined)
				}
			}
		})
	}
}
