package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Every statement that reads a task repeats the liveness test, with the
// two retention cutoffs as parameters (see Store.cutoffs).

const (
	sqlCreateTask = `INSERT INTO tasks
    (id, tenant, owner, context_id, state, updated, version, runner, task, terminal_at, waiting_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10)
ON CONFLICT (id) DO NOTHING`

	// An expired task that the sweeper has not deleted yet must not block
	// a new task with its id.
	sqlDropExpired = `DELETE FROM tasks WHERE id = ?1 AND (terminal_at <= ?2 OR waiting_at <= ?3)`

	// One statement does the compare-and-set. terminal_at is set once, the
	// first time the task is terminal; waiting_at holds the start of the
	// current wait for the caller, NULL when not waiting.
	sqlUpdateTask = `UPDATE tasks SET
    task = ?3, state = ?4, context_id = ?5, updated = coalesce(?6, updated), runner = ?7,
    version = version + 1,
    terminal_at = coalesce(terminal_at, CASE WHEN ?8 THEN ?10 END),
    waiting_at = CASE WHEN ?9 THEN coalesce(waiting_at, ?10) END,
    event_count = event_count + ?11
WHERE id = ?1 AND version = ?2
    AND (terminal_at IS NULL OR terminal_at > ?12) AND (waiting_at IS NULL OR waiting_at > ?13)`

	sqlTaskLive = `SELECT 1 FROM tasks
WHERE id = ?1 AND (terminal_at IS NULL OR terminal_at > ?2) AND (waiting_at IS NULL OR waiting_at > ?3)`

	sqlInsertEvent = `INSERT INTO task_events (task_rid, seq, event) SELECT rid, ?2, ?3 FROM tasks WHERE id = ?1`

	// Trimming finds the newest seq to drop (the log is sparse: updates
	// without an event leave gaps), deletes up to it and records it, which
	// is how Events knows what it can no longer answer.
	sqlEventCount = `SELECT rid, event_count FROM tasks WHERE id = ?1`
	sqlTrimCut    = `SELECT seq FROM task_events WHERE task_rid = ?1 ORDER BY seq LIMIT 1 OFFSET ?2`
	sqlTrimDelete = `DELETE FROM task_events WHERE task_rid = ?1 AND seq <= ?2`
	sqlTrimMark   = `UPDATE tasks SET event_count = event_count - ?2, events_dropped = ?3 WHERE rid = ?1`

	sqlGetTask = `SELECT owner, tenant, updated, version, runner, task FROM tasks
WHERE id = ?1 AND (terminal_at IS NULL OR terminal_at > ?2) AND (waiting_at IS NULL OR waiting_at > ?3)`

	// One statement, so the task's version, the trim mark and the events
	// come from the same snapshot.
	sqlEvents = `SELECT t.version, t.events_dropped, e.seq, e.event
FROM tasks t LEFT JOIN task_events e ON e.task_rid = t.rid AND e.seq > ?2
WHERE t.id = ?1 AND (t.terminal_at IS NULL OR t.terminal_at > ?3) AND (t.waiting_at IS NULL OR t.waiting_at > ?4)
ORDER BY e.seq`
)

// retentionClocks returns the terminal_at and waiting_at values a task in
// state starts with at now (nil: NULL).
func retentionClocks(state a2av1.TaskState, now int64) (terminalAt, waitingAt any) {
	if taskstore.IsTerminal(state) {
		terminalAt = now
	}
	if taskstore.IsInterrupted(state) {
		waitingAt = now
	}
	return terminalAt, waitingAt
}

// Create implements [taskstore.Store]. The store has no capacity bound of
// its own; ErrFull means the disk is full.
func (s *Store) Create(ctx context.Context, rec taskstore.Record, push ...*a2av1.TaskPushNotificationConfig) error {
	blob, err := proto.Marshal(rec.Task)
	if err != nil {
		return err
	}
	pushBlobs, err := encodePushConfigs(push)
	if err != nil {
		return err
	}
	id := rec.Task.GetId()
	state := rec.Task.GetStatus().GetState()
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		now := s.now()
		term, wait := s.cutoffs(now)
		terminalAt, waitingAt := retentionClocks(state, now)
		insert := func() (bool, error) {
			n, err := affected(ctx, w.createTask, id, rec.Tenant, rec.Owner, rec.Task.GetContextId(),
				int64(state), toNanos(rec.Updated), rec.Runner, blob, terminalAt, waitingAt)
			if n != 1 || err != nil {
				return false, err
			}
			for i, cfg := range push {
				if _, err := affected(ctx, w.putPush, id, cfg.GetId(), pushBlobs[i], term, wait); err != nil {
					return false, err
				}
			}
			return true, nil
		}
		if ok, err := insert(); ok || err != nil {
			return err
		}
		if n, err := affected(ctx, w.dropExpired, id, term, wait); err != nil {
			return err
		} else if n == 0 {
			return taskstore.ErrExists
		}
		if ok, err := insert(); ok || err != nil {
			return err
		}
		// Not ErrExists: this failure comes after a delete (see runBatch).
		return errors.New("sqlitestore: task " + id + " still exists after its expired record was deleted")
	})
}

// Get implements [taskstore.Store].
func (s *Store) Get(ctx context.Context, id string) (taskstore.Record, error) {
	ctx, err := detached(ctx)
	if err != nil {
		return taskstore.Record{}, err
	}
	term, wait := s.cutoffs(s.now())
	var (
		owner, tenant, runner string
		updated, version      int64
		blob                  sql.RawBytes
	)
	// Query rather than QueryRow: only Rows can scan into RawBytes, which
	// saves copying the blob before decoding it.
	rows, err := s.r.getTask.QueryContext(ctx, id, term, wait)
	if err != nil {
		return taskstore.Record{}, s.classify(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return taskstore.Record{}, s.classify(err)
		}
		return taskstore.Record{}, taskstore.ErrNotFound
	}
	if err := rows.Scan(&owner, &tenant, &updated, &version, &runner, &blob); err != nil {
		return taskstore.Record{}, s.classify(err)
	}
	return decodeRecord(id, owner, tenant, updated, version, runner, blob)
}

// decodeRecord builds a Record from a row of tasks. blob may be reused by
// the driver afterwards: Unmarshal copies what it keeps.
func decodeRecord(id, owner, tenant string, updated, version int64, runner string, blob []byte) (taskstore.Record, error) {
	task := new(a2av1.Task)
	if err := proto.Unmarshal(blob, task); err != nil {
		return taskstore.Record{}, errors.Join(errors.New("sqlitestore: decoding task "+id), err)
	}
	return taskstore.Record{
		Task: task, Version: version, Owner: owner, Tenant: tenant,
		Updated: fromNanos(updated), Runner: runner,
	}, nil
}

// Update implements [taskstore.Store]. It is one transaction: the
// compare-and-set of the task, the event (with Seq equal to the new
// version) and, with u.Push, one outbox row per push config of the task.
func (s *Store) Update(ctx context.Context, id string, version int64, u taskstore.Update) (int64, error) {
	blob, err := proto.Marshal(u.Task)
	if err != nil {
		return 0, err
	}
	var event []byte
	if u.Event != nil {
		if event, err = proto.Marshal(u.Event); err != nil {
			return 0, err
		}
	}
	state := u.Task.GetStatus().GetState()
	var updated any // NULL keeps the stored one, as a task without a timestamp does
	if ts := u.Task.GetStatus().GetTimestamp(); ts != nil {
		updated = toNanos(ts.AsTime())
	}
	next := version + 1
	err = s.write(ctx, func(ctx context.Context, w *writer) error {
		now := s.now()
		term, wait := s.cutoffs(now)
		if n, err := affected(ctx, w.updateTask, id, version, blob, int64(state), u.Task.GetContextId(), updated, u.Runner,
			taskstore.IsTerminal(state), taskstore.IsInterrupted(state), now, btoi(event != nil), term, wait); err != nil {
			return err
		} else if n == 0 {
			return s.missedUpdate(ctx, w, id, term, wait)
		}
		if event == nil {
			return nil
		}
		if _, err := w.insertEvent.ExecContext(ctx, id, next, event); err != nil {
			return err
		}
		// Seqs are versions and the log starts at version 2, so a task
		// with no more versions than the bound cannot exceed it: most
		// tasks never pay for counting.
		if next-1 > int64(s.cfg.maxEventsPerTask) {
			if err := trimEvents(ctx, w, id, s.cfg.maxEventsPerTask); err != nil {
				return err
			}
		}
		if u.Push {
			_, err = w.enqueue.ExecContext(ctx, id, next, event, now)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	return next, nil
}

// missedUpdate tells why the compare-and-set matched no row: the task is
// gone (or expired), or another writer moved its version on.
func (s *Store) missedUpdate(ctx context.Context, w *writer, id string, term, wait int64) error {
	var one int
	switch err := w.taskLive.QueryRowContext(ctx, id, term, wait).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return taskstore.ErrNotFound
	case err != nil:
		return err
	}
	return taskstore.ErrConflict
}

// trimEvents drops the oldest events of a task's log beyond limit.
func trimEvents(ctx context.Context, w *writer, id string, limit int) error {
	var rid, count int64
	if err := w.eventCount.QueryRowContext(ctx, id).Scan(&rid, &count); err != nil {
		return err
	}
	excess := count - int64(limit)
	if excess <= 0 {
		return nil
	}
	var cut int64
	if err := w.trimCut.QueryRowContext(ctx, rid, excess-1).Scan(&cut); err != nil {
		return err
	}
	n, err := affected(ctx, w.trimDelete, rid, cut)
	if err != nil {
		return err
	}
	_, err = w.trimMark.ExecContext(ctx, rid, n, cut)
	return err
}

// Events implements [taskstore.Store]. Logs outlive the task's terminal
// state, so a stream can be resumed until the task itself expires.
func (s *Store) Events(ctx context.Context, id string, afterSeq int64) ([]taskstore.Event, error) {
	ctx, err := detached(ctx)
	if err != nil {
		return nil, err
	}
	term, wait := s.cutoffs(s.now())
	rows, err := s.r.events.QueryContext(ctx, id, afterSeq, term, wait)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	var (
		out              []taskstore.Event
		found            bool
		version, dropped int64
		seq              sql.NullInt64
		blob             sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&version, &dropped, &seq, &blob); err != nil {
			return nil, s.classify(err)
		}
		if !found {
			found = true
			if afterSeq >= version {
				return nil, nil
			}
			if afterSeq < dropped {
				return nil, taskstore.ErrEventsTruncated
			}
		}
		if !seq.Valid {
			break // the task has no event after afterSeq
		}
		ev := new(a2av1.StreamResponse)
		if err := proto.Unmarshal(blob, ev); err != nil {
			return nil, errors.Join(errors.New("sqlitestore: decoding an event of task "+id), err)
		}
		out = append(out, taskstore.Event{Seq: seq.Int64, Response: ev})
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(err)
	}
	if !found {
		return nil, taskstore.ErrNotFound
	}
	return out, nil
}
