package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Store is the SQLite [taskstore.Store]. All methods are safe for
// concurrent use.
//
// It keeps three kinds of connection to the file. Writes are serialized on
// one connection: SQLite admits one writer at a time, and queueing in the
// process is cheaper and fairer than letting connections collide and retry
// on SQLITE_BUSY. Reads run in parallel on a pool of read-only connections,
// which WAL mode lets proceed alongside the writer. And one connection
// checkpoints the write-ahead log in the background (see checkpoint.go), so
// that no request pays for the fsyncs a checkpoint does.
type Store struct {
	cfg  config
	lock *fileLock

	wdb  *sql.DB // exactly one connection, w.conn
	rdb  *sql.DB // read-only connections
	ckdb *sql.DB // one connection, for checkpoints
	w    writer
	// walLimit is the log size, in frames, past which checkpoints
	// truncate it (defaultWALLimit; tests lower it).
	walLimit      atomic.Int64
	escalateAfter atomic.Int64 // Unix ns before which no TRUNCATE is tried again
	r             readStmts

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	stopBG    context.CancelFunc
	bg        sync.WaitGroup // the sweeper and the checkpointer
}

var (
	_ taskstore.Store  = (*Store)(nil)
	_ taskstore.Outbox = (*Store)(nil)
	_ taskstore.Reaper = (*Store)(nil)
)

// Open opens (creating it if needed) the database file at path, applies
// pending schema migrations and starts the background work — the sweep of
// expired tasks and the WAL checkpoints — that Close stops. It fails with
// [ErrLocked] if another Store, in this process or another, has the file
// open.
//
// The connections use WAL journaling: readers never block the writer nor
// the other way round, and a commit is an append to the log. With
// synchronous=NORMAL (the default; see [WithFullSync]) a commit does not
// wait for an fsync: an acknowledged write survives the process crashing —
// it is in the operating system's page cache — and the file is never
// corrupted, but a power loss or kernel crash may lose the commits since
// the last checkpoint. That is the usual trade-off for a task store, whose
// writes are many and small, and it is what lets a write cost microseconds
// rather than an fsync.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitestore: %q is not a file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	lock, err := acquireLock(lockPath(abs))
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, lock: lock}
	s.walLimit.Store(defaultWALLimit)
	if err := s.open(ctx, abs); err != nil {
		_ = s.release() // the open error is the one to report
		if kind := s.failureKind(err); kind != nil {
			return nil, fmt.Errorf("sqlitestore: opening %s: %w: %w", abs, kind, err)
		}
		return nil, fmt.Errorf("sqlitestore: opening %s: %w", abs, err)
	}
	bgCtx, stop := context.WithCancel(context.Background())
	s.stopBG = stop
	s.bg.Go(func() { s.sweepLoop(bgCtx) })
	s.bg.Go(func() { s.checkpointLoop(bgCtx) })
	return s, nil
}

func (s *Store) open(ctx context.Context, path string) error {
	syncMode := "NORMAL"
	if s.cfg.fullSync {
		syncMode = "FULL"
	}
	busy := "busy_timeout(" + strconv.FormatInt(s.cfg.busyTimeout.Milliseconds(), 10) + ")"
	var err error
	s.wdb, err = openPool(path, 1,
		busy,
		"journal_mode(WAL)",
		"synchronous("+syncMode+")",
		"foreign_keys(ON)",
		// The checkpointer does the checkpoints, off the write path.
		"wal_autocheckpoint(0)",
		// Cap the log file kept after a checkpoint, so that one burst of
		// writes does not hold on to its disk space for good.
		"journal_size_limit(67108864)",
	)
	if err != nil {
		return err
	}
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return err
	}
	s.w.conn = conn
	s.w.idle.L = &s.w.mu
	s.w.nudge = make(chan struct{}, 1)
	if err := migrate(ctx, conn); err != nil {
		return err
	}
	// The file lock proves that no other process is using the file, so
	// every runner lease in it belongs to a process that is gone: dropping
	// them makes that process's unfinished tasks orphans at once, instead
	// of after its lease would have run out.
	if _, err := conn.ExecContext(ctx, "DELETE FROM runners"); err != nil {
		return err
	}
	if err := s.w.prepare(ctx); err != nil {
		return err
	}

	// query_only is a safety net: a write through the read pool would
	// contend with the writer for the lock after all.
	if s.rdb, err = openPool(path, max(4, runtime.GOMAXPROCS(0)), busy, "query_only(ON)"); err != nil {
		return err
	}
	if err := s.r.prepare(ctx, s.rdb); err != nil {
		return err
	}
	// A checkpoint syncs the log and the file as its connection's
	// synchronous setting says.
	// Only a TRUNCATE checkpoint ever waits, and it holds writers back
	// while it does: escalationWait bounds that.
	ckBusy := "busy_timeout(" + strconv.FormatInt(escalationWait.Milliseconds(), 10) + ")"
	if s.ckdb, err = openPool(path, 1, ckBusy, "synchronous("+syncMode+")"); err != nil {
		return err
	}
	return s.ckdb.PingContext(ctx)
}

// openPool returns a pool of at most n connections that all stay open: a
// closed connection would lose its prepared statements, and SQLite
// connections cost nothing while idle.
func openPool(path string, n int, pragmas ...string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn(path, pragmas...))
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// dsn builds a URI filename (so a path may contain '?' or '#') with the
// driver's per-connection pragmas.
func dsn(path string, pragmas ...string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	q := url.Values{"_pragma": pragmas}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
}

// Ping reports whether the database file can be read now
// ([taskstore.Pinger]): readiness. After Close it fails with
// [taskstore.ErrUnavailable].
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return taskstore.ErrUnavailable
	}
	var one int
	return s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&one)
}

// Close stops the background work, waits for the write in progress,
// closes the database and releases the file lock. Calls after the first
// return its result; methods called after Close fail with
// [taskstore.ErrUnavailable].
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopBG()
		s.bg.Wait()
		// Writes queued before this point are done before it returns;
		// later ones fail.
		s.w.mu.Lock()
		s.closed.Store(true)
		for s.w.leading {
			s.w.idle.Wait()
		}
		s.w.mu.Unlock()
		s.closeErr = s.release()
	})
	return s.closeErr
}

// release closes whatever open got to open, then the lock. The last
// connection to close checkpoints the log into the file.
func (s *Store) release() error {
	var errs []error
	if s.ckdb != nil {
		errs = append(errs, s.ckdb.Close())
	}
	if s.rdb != nil {
		errs = append(errs, s.r.close(), s.rdb.Close())
	}
	errs = append(errs, s.w.close())
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	errs = append(errs, s.lock.release())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlitestore: closing: %w", err)
	}
	return nil
}

// now returns the store's clock in Unix nanoseconds.
func (s *Store) now() int64 { return s.cfg.now().UnixNano() }

// cutoffs returns the retention bounds at now: a task is live if it became
// terminal after term (or never did) and has waited for its caller since
// after wait (or is not waiting). Every statement that reads a task takes
// them as parameters, so expired tasks are invisible before the sweeper
// deletes them.
func (s *Store) cutoffs(now int64) (term, wait int64) {
	return now - int64(s.cfg.retention), now - int64(s.cfg.idleRetention)
}

// detached returns ctx without its cancellation, after checking that ctx
// is not done yet. The driver watches a cancellable context with a
// goroutine per statement; for the point statements of this store, which
// take microseconds, that watch would cost more than the statement.
func detached(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}
