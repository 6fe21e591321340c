package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

var errClosed = errors.New("store is closed")

// classify turns a failure of a store operation into what it means to the
// caller. Store sentinels and context errors pass through unchanged;
// failures of the database are wrapped under the category failureKind
// gives them, if any.
func (s *Store) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, taskstore.ErrNotFound), errors.Is(err, taskstore.ErrExists),
		errors.Is(err, taskstore.ErrConflict), errors.Is(err, taskstore.ErrFull),
		errors.Is(err, taskstore.ErrInvalidPageToken), errors.Is(err, taskstore.ErrEventsTruncated),
		errors.Is(err, taskstore.ErrUnavailable):
		return err
	}
	if kind := s.failureKind(err); kind != nil {
		return fmt.Errorf("%w: sqlitestore: %w", kind, err)
	}
	return fmt.Errorf("sqlitestore: %w", err)
}

// failureKind is the one place that decides which database failures are
// which. Failures that say the file cannot be used right now — an I/O
// error, a lock still held after the busy timeout, a file that can no
// longer be opened or was moved away, memory exhausted, a closed store —
// are [taskstore.ErrUnavailable], so every binding answers with a
// retryable status. A full disk is [taskstore.ErrFull]. Anything else (a
// bug, a corrupt file) is nil: an internal error, which retrying would not
// help.
func (s *Store) failureKind(err error) error {
	if s.closed.Load() || errors.Is(err, errClosed) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return taskstore.ErrUnavailable
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() & 0xff { // the primary result code; extended codes refine it
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL,
		sqlite3.SQLITE_NOMEM:
		return taskstore.ErrUnavailable
	case sqlite3.SQLITE_FULL:
		return taskstore.ErrFull
	}
	return nil
}
