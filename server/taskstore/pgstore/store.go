package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Store is the PostgreSQL [taskstore.Store]. Any number of server processes
// may share one database: every update is a single compare-and-set
// statement, the outbox is claimed with row locks, events are announced
// with NOTIFY ([Store.Watch]) and runner leases find the tasks of processes
// that died ([Store.Orphans]).
//
// Times are the database's clock (now()) throughout: retention, outbox
// leases and runner leases are compared by one clock however skewed the
// replicas' clocks are. Times a caller passes in (RetryDelivery) are turned
// into a delay from the caller's clock and applied to the database's.
type Store struct {
	cfg     config
	pool    *pgxpool.Pool
	channel string // NOTIFY channel of this schema (see channelFor)

	closed    atomic.Bool
	closeOnce sync.Once
	life      context.Context // done when Close starts: ends Watch calls and the sweeper
	stop      context.CancelFunc
	swept     chan struct{} // closed when the sweeper has returned
}

var (
	_ taskstore.Store   = (*Store)(nil)
	_ taskstore.Outbox  = (*Store)(nil)
	_ taskstore.Watcher = (*Store)(nil)
	_ taskstore.Reaper  = (*Store)(nil)
)

// Open connects to the database named by dsn (a postgres:// URL or a
// keyword/value string; pool settings such as pool_max_conns are read from
// it), brings the schema up to date and starts the background sweep of
// expired tasks, which Close stops. A database that cannot be reached is
// reported as [taskstore.ErrUnavailable].
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if cfg.schema != "" {
		// A runtime parameter rather than a SET after connecting: it is sent
		// in the startup message, so every connection, pooled or the
		// dedicated listener, has it before its first statement.
		pcfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.schema}.Sanitize()
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	_, inDSN := pcfg.ConnConfig.RuntimeParams["statement_timeout"]
	inDSN = inDSN || strings.Contains(pcfg.ConnConfig.RuntimeParams["options"], "statement_timeout")
	if cfg.stmtTimeout > 0 && !inDSN {
		pcfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.stmtTimeout.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	schema, err := migrate(ctx, pool, cfg.schema)
	if err != nil {
		pool.Close()
		err, _ = classify(ctx, err, false)
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	s := &Store{cfg: cfg, pool: pool, channel: channelFor(schema), life: life, stop: stop, swept: make(chan struct{})}
	go s.sweepLoop()
	return s, nil
}

// Close stops the sweeper and any Watch calls, waits for calls in flight
// and closes the connections. Calls made after Close fail with
// [taskstore.ErrUnavailable]. It is safe to call more than once.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stop()
		<-s.swept
		s.pool.Close()
	})
}

// Ping reports whether the database answers a query now
// ([taskstore.Pinger]): readiness. A pooled connection is used, or a new
// one made.
func (s *Store) Ping(ctx context.Context) error {
	return s.fail(ctx, s.pool.Ping(ctx))
}

// fail classifies err for the caller (see classify). When it says a pooled
// connection died, the others are dropped too: what kills one connection
// (a restart, a failover, a network cut) has usually killed all of them,
// and each would otherwise fail one more call before the pool noticed.
func (s *Store) fail(ctx context.Context, err error) error {
	out, lost := classify(ctx, err, s.closed.Load())
	if lost {
		s.pool.Reset()
	}
	return out
}

// liveTask is the condition that the task aliased t has not expired. Rows
// past their expiry wait for the sweeper but are already gone to readers.
const liveTask = `(t.expires_at IS NULL OR t.expires_at > now())`

// recordColumns are what scanRecord reads, from tasks aliased t.
const recordColumns = `t.id, t.tenant, t.owner, t.updated, t.version, t.runner, t.task`

func scanRecord(row pgx.Row) (taskstore.Record, error) {
	var (
		rec     taskstore.Record
		id      string
		updated int64
		blob    []byte
	)
	if err := row.Scan(&id, &rec.Tenant, &rec.Owner, &updated, &rec.Version, &rec.Runner, &blob); err != nil {
		return taskstore.Record{}, err
	}
	task := new(a2av1.Task)
	if err := proto.Unmarshal(blob, task); err != nil {
		return taskstore.Record{}, fmt.Errorf("pgstore: decoding task %q: %w", id, err)
	}
	rec.Task = task
	rec.Updated = time.Unix(0, updated).UTC()
	return rec, nil
}

// retentionArgs are the micro-second durations the write statements add to
// now() for a task that becomes terminal or starts waiting for its caller.
func (s *Store) retentionArgs() (terminal, interrupted int64) {
	return s.cfg.retention.Microseconds(), s.cfg.idleRetention.Microseconds()
}

const createSQL = `
INSERT INTO tasks (id, tenant, owner, context_id, state, updated, version, runner, task,
                   terminal_at, waiting_since, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8,
        CASE WHEN $9::boolean THEN now() END,
        CASE WHEN $10::boolean THEN now() END,
        CASE WHEN $9::boolean THEN now() + $11::bigint * interval '1 microsecond'
             WHEN $10::boolean THEN now() + $12::bigint * interval '1 microsecond' END)`

// Create implements [taskstore.Store]. It logs no event: a task's first
// event comes with its first update, as in the in-memory store. Without
// push configs it is one statement; with them, a transaction.
func (s *Store) Create(ctx context.Context, rec taskstore.Record, push ...*a2av1.TaskPushNotificationConfig) error {
	blob, err := proto.Marshal(rec.Task)
	if err != nil {
		return fmt.Errorf("pgstore: encoding task: %w", err)
	}
	id := rec.Task.GetId()
	state := rec.Task.GetStatus().GetState()
	terminal, interrupted := s.retentionArgs()
	args := []any{id, rec.Tenant, rec.Owner, rec.Task.GetContextId(), int32(state), rec.Updated.UnixNano(),
		rec.Runner, blob, taskstore.IsTerminal(state), taskstore.IsInterrupted(state), terminal, interrupted}
	if len(push) > 0 {
		return s.createWithPush(ctx, id, args, push)
	}
	_, err = s.pool.Exec(ctx, createSQL, args...)
	if !isCode(err, codeUniqueViolation) {
		return s.fail(ctx, err)
	}
	// The id may belong to a task that expired but is not swept yet. It is
	// gone as far as readers know, so its id is free again.
	tag, err := s.pool.Exec(ctx, `DELETE FROM tasks t WHERE t.id = $1 AND NOT `+liveTask, id)
	if err != nil {
		return s.fail(ctx, err)
	}
	if tag.RowsAffected() == 0 {
		return taskstore.ErrExists
	}
	_, err = s.pool.Exec(ctx, createSQL, args...)
	if isCode(err, codeUniqueViolation) {
		return taskstore.ErrExists
	}
	return s.fail(ctx, err)
}

// createWithPush is Create with push configs: the task and its configs in
// one transaction. A failed statement would abort the transaction, so an
// expired task holding the id is deleted first rather than after a unique
// violation.
func (s *Store) createWithPush(ctx context.Context, id string, args []any, push []*a2av1.TaskPushNotificationConfig) error {
	blobs := make([][]byte, len(push))
	for i, cfg := range push {
		var err error
		if blobs[i], err = proto.Marshal(cfg); err != nil {
			return fmt.Errorf("pgstore: encoding push config: %w", err)
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM tasks t WHERE t.id = $1 AND NOT `+liveTask, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, createSQL, args...); err != nil {
			return err
		}
		for i, cfg := range push {
			if _, err := tx.Exec(ctx, putPushConfigSQL, id, cfg.GetId(), blobs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if isCode(err, codeUniqueViolation) {
		return taskstore.ErrExists
	}
	return s.fail(ctx, err)
}

// Get implements [taskstore.Store].
func (s *Store) Get(ctx context.Context, id string) (taskstore.Record, error) {
	rec, err := scanRecord(s.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM tasks t WHERE t.id = $1 AND `+liveTask, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return taskstore.Record{}, taskstore.ErrNotFound
	}
	if err != nil {
		return taskstore.Record{}, s.fail(ctx, err)
	}
	return rec, nil
}

// updateSQL is the whole of an update in one statement, hence one
// transaction and one round trip: the compare-and-set of the task, its
// retention, the trimming of its event log to the newest $13 events, the
// event itself, one outbox row per push config, and the notification.
// NOTIFY is delivered at commit and in commit order, and commits of one
// task are ordered by its version, so watchers see each task's events in
// log order.
//
// In an UPDATE, t.column on the right-hand side is the value before the
// update; that is how the terminal and waiting start times are kept once
// set.
const updateSQL = `
WITH u AS (
	UPDATE tasks t SET
		task = $3,
		context_id = $4,
		state = $5,
		updated = coalesce($6, t.updated),
		version = t.version + 1,
		runner = $7,
		terminal_at = CASE WHEN $8::boolean THEN coalesce(t.terminal_at, now()) ELSE t.terminal_at END,
		waiting_since = CASE WHEN $9::boolean THEN coalesce(t.waiting_since, now()) END,
		expires_at = CASE
			WHEN $8::boolean OR t.terminal_at IS NOT NULL
				THEN coalesce(t.terminal_at, now()) + $10::bigint * interval '1 microsecond'
			WHEN $9::boolean
				THEN coalesce(t.waiting_since, now()) + $11::bigint * interval '1 microsecond'
		END,
		events_dropped = CASE WHEN $12::boolean AND t.event_count >= $13::integer
			THEN coalesce((SELECT e.seq FROM task_events e WHERE e.task_id = t.id
			               ORDER BY e.seq OFFSET t.event_count - $13::integer LIMIT 1), t.events_dropped)
			ELSE t.events_dropped END,
		event_count = CASE WHEN $12::boolean THEN least(t.event_count + 1, $13::integer) ELSE t.event_count END
	WHERE t.id = $1 AND t.version = $2 AND ` + liveTask + `
	RETURNING t.id, t.version, t.event_count, t.events_dropped
), trimmed AS (
	DELETE FROM task_events e USING u
	WHERE $12::boolean AND u.event_count >= $13::integer AND e.task_id = u.id AND e.seq <= u.events_dropped
), logged AS (
	INSERT INTO task_events (task_id, seq, event)
	SELECT u.id, u.version, $14::bytea FROM u WHERE $12::boolean
), queued AS (
	INSERT INTO push_outbox (task_id, config_id, seq, event)
	SELECT c.task_id, c.id, u.version, $14::bytea FROM u JOIN push_configs c ON c.task_id = u.id
	WHERE $12::boolean AND $15::boolean
	ORDER BY c.ordinal
), notified AS (
	SELECT pg_notify($16::text, u.version || ' ' || u.id) FROM u WHERE $12::boolean
)
SELECT u.version, (SELECT count(*) FROM notified) FROM u`

// Update implements [taskstore.Store]. Unlike the in-memory store, it keeps
// logging events after a task is terminal and keeps the log until the task
// expires: a client that lost its stream may resume it (Last-Event-ID)
// from another replica, or after a restart, to read how the task ended.
func (s *Store) Update(ctx context.Context, id string, version int64, u taskstore.Update) (int64, error) {
	blob, err := proto.Marshal(u.Task)
	if err != nil {
		return 0, fmt.Errorf("pgstore: encoding task: %w", err)
	}
	var event []byte
	if u.Event != nil {
		if event, err = proto.Marshal(u.Event); err != nil {
			return 0, fmt.Errorf("pgstore: encoding event: %w", err)
		}
	}
	var updated *int64
	if ts := u.Task.GetStatus().GetTimestamp(); ts != nil {
		nanos := ts.AsTime().UnixNano()
		updated = &nanos
	}
	state := u.Task.GetStatus().GetState()
	terminal, interrupted := s.retentionArgs()
	var newVersion, notified int64
	err = s.pool.QueryRow(ctx, updateSQL, id, version, blob, u.Task.GetContextId(), int32(state), updated, u.Runner,
		taskstore.IsTerminal(state), taskstore.IsInterrupted(state), terminal, interrupted,
		u.Event != nil, int32(s.cfg.maxEvents), event, u.Push, s.channel).Scan(&newVersion, &notified)
	if err == nil {
		return newVersion, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, s.fail(ctx, err)
	}
	// Nothing matched: either the task is gone or another writer moved it on.
	var current int64
	err = s.pool.QueryRow(ctx, `SELECT t.version FROM tasks t WHERE t.id = $1 AND `+liveTask, id).Scan(&current)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, taskstore.ErrNotFound
	case err != nil:
		return 0, s.fail(ctx, err)
	}
	return 0, taskstore.ErrConflict
}

// eventsSQL reads the task and its events in one statement, so a trim
// committed in between cannot make the log look complete when it is not.
const eventsSQL = `
SELECT t.version, t.events_dropped, e.seq, e.event
FROM tasks t LEFT JOIN task_events e ON e.task_id = t.id AND e.seq > $2
WHERE t.id = $1 AND ` + liveTask + `
ORDER BY e.seq`

// Events implements [taskstore.Store].
func (s *Store) Events(ctx context.Context, id string, afterSeq int64) ([]taskstore.Event, error) {
	rows, err := s.pool.Query(ctx, eventsSQL, id, afterSeq)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer rows.Close()
	var (
		found            bool
		version, dropped int64
		out              []taskstore.Event
	)
	for rows.Next() {
		var (
			seq  *int64
			blob []byte
		)
		if err := rows.Scan(&version, &dropped, &seq, &blob); err != nil {
			return nil, s.fail(ctx, err)
		}
		found = true
		if seq == nil {
			continue // the task has no events after afterSeq
		}
		ev := new(a2av1.StreamResponse)
		if err := proto.Unmarshal(blob, ev); err != nil {
			return nil, fmt.Errorf("pgstore: decoding event %d of task %q: %w", *seq, id, err)
		}
		out = append(out, taskstore.Event{Seq: *seq, Response: ev})
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	switch {
	case !found:
		return nil, taskstore.ErrNotFound
	case afterSeq >= version:
		return nil, nil
	case afterSeq < dropped:
		return nil, taskstore.ErrEventsTruncated
	}
	return out, nil
}
