package sqlitereg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"modernc.org/sqlite"

	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/internal/fanout"
)

// Store is the SQLite [regstore.Store]. It is safe for concurrent use.
type Store struct {
	hub *fanout.Hub[regstore.Change]

	// mu serializes every operation on conn, and so orders writes and
	// their publication to watchers.
	mu     sync.Mutex
	db     *sql.DB
	conn   *sql.Conn // the one connection, which holds the file's lock
	closed bool
}

var _ regstore.Store = (*Store)(nil)

// Open opens the database file at path, creating it if needed, and applies
// pending schema migrations. It fails with [ErrLocked] if another Store has
// the file open.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitereg: %q is not a file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitereg: %w", err)
	}
	s := &Store{hub: fanout.New(cfg.watchBuffer, regstore.Change{Resync: true}, regstore.Change.Clone)}
	if err := s.open(context.Background(), abs, cfg); err != nil {
		s.release()
		if isBusy(err) {
			return nil, fmt.Errorf("%w: %s: %w", ErrLocked, abs, err)
		}
		return nil, fmt.Errorf("sqlitereg: opening %s: %w", abs, classify(err))
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, path string, cfg config) error {
	syncMode := "NORMAL"
	if cfg.fullSync {
		syncMode = "FULL"
	}
	c, err := sqlite.NewConnector(dsn(path,
		// EXCLUSIVE before WAL: the lock is then held from the first
		// write until the connection closes, and the WAL index lives in
		// the connection's memory instead of a shared -shm file.
		"locking_mode(EXCLUSIVE)",
		"journal_mode(WAL)",
		"synchronous("+syncMode+")",
		// No waiting: the only other holder of the lock can be another
		// Store, and waiting for it to close is not what Open is for.
		"busy_timeout(0)",
	))
	if err != nil {
		return err
	}
	s.db = sql.OpenDB(c)
	s.db.SetMaxOpenConns(1)
	s.db.SetConnMaxLifetime(0)
	s.db.SetConnMaxIdleTime(0)
	if s.conn, err = s.db.Conn(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, s.conn); err != nil {
		return err
	}
	// A write takes the exclusive lock, which EXCLUSIVE mode then keeps:
	// from here on no other Store can use the file. (A fresh file was
	// just written by its migrations, but an up-to-date one was only
	// read.)
	_, err = s.conn.ExecContext(ctx, "UPDATE registry_revision SET last = last")
	return err
}

// dsn builds a URI filename (so a path may contain '?' or '#') with the
// driver's per-connection pragmas.
func dsn(path string, pragmas ...string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + url.Values{"_pragma": pragmas}.Encode()
}

// lock takes s.mu for one operation, failing if the store is closed or ctx
// has ended.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return regstore.ErrClosed
	}
	return nil
}

// Ping implements [regstore.Store.Ping]: it reads the file.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	var n int64
	return classify(s.conn.QueryRowContext(ctx, "SELECT last FROM registry_revision").Scan(&n))
}

// Close implements [regstore.Store.Close]: it closes the watch channels
// and the database, releasing the file's lock. Later calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.release(); err != nil {
		return fmt.Errorf("sqlitereg: closing: %w", err)
	}
	return nil
}

// release closes the hub and whatever open got to open.
func (s *Store) release() error {
	s.hub.Close()
	var errs []error
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}
