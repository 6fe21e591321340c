package sqlitereg

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// ErrLocked is returned by [Open] when another Store, in this process or
// another, has the database file open.
var ErrLocked = errors.New("sqlitereg: database is in use by another store")

// classify turns a failure into what it means to the caller: store
// sentinels and context errors pass through; failures that say the file
// cannot be used right now (I/O error, lock held, file gone, out of
// memory, disk full) become [regstore.ErrUnavailable], so the registry
// answers with a retryable status; anything else (a bug, a corrupt file)
// is only wrapped.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, regstore.ErrNotFound), errors.Is(err, regstore.ErrConflict),
		errors.Is(err, regstore.ErrClosed), errors.Is(err, regstore.ErrUnavailable),
		errors.Is(err, regstore.ErrNoID):
		return err
	case unavailable(err):
		return fmt.Errorf("%w: sqlitereg: %w", regstore.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlitereg: %w", err)
}

func unavailable(err error) bool {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL,
		sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_FULL:
		return true
	}
	return false
}

// isBusy reports whether err is SQLite finding the file locked.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}
