package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
)

// readStmts are the statements of the read pool. database/sql prepares
// each on a pooled connection the first time it runs there and keeps it,
// so steady-state reads never parse SQL.
type readStmts struct {
	getTask, events *sql.Stmt
	// list[cursor][byContext] and count[byContext]: the optional parts of
	// a ListTasks query are separate statements rather than parameters
	// that switch conditions off, so that each is planned for what it
	// actually constrains — a cursor must seek the index, not filter it.
	list              [2][2]*sql.Stmt
	count             [2]*sql.Stmt
	getPush, listPush *sql.Stmt
	orphans           *sql.Stmt
}

func (r *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	list := []stmtSQL{
		{&r.getTask, sqlGetTask},
		{&r.events, sqlEvents},
		{&r.getPush, sqlGetPush},
		{&r.listPush, sqlListPush},
		{&r.orphans, sqlOrphans},
	}
	for cursor := range 2 {
		for byContext := range 2 {
			list = append(list, stmtSQL{&r.list[cursor][byContext], listSQL(cursor == 1, byContext == 1)})
		}
	}
	for byContext := range 2 {
		list = append(list, stmtSQL{&r.count[byContext], countSQL(byContext == 1)})
	}
	return prepareAll(ctx, db.PrepareContext, list)
}

func (r *readStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{
		r.getTask, r.events, r.getPush, r.listPush, r.orphans,
		r.list[0][0], r.list[0][1], r.list[1][0], r.list[1][1], r.count[0], r.count[1],
	} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
