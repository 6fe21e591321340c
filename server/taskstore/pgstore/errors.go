package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// SQLSTATE codes the store reacts to by name.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeQueryCanceled       = "57014" // statement_timeout, or a cancel request
)

// errClosed is what calls on a closed Store fail with, wrapped in
// ErrUnavailable: to a caller, a store being shut down is a database it
// cannot reach.
var errClosed = errors.New("pgstore: store closed")

// classify is the one place that decides what a database error means to the
// store's callers. The server answers ErrUnavailable with a retryable status,
// so every failure to reach the database must carry it, while errors about
// the statement itself must not (retrying would fail the same way). A
// context error of the caller's own context stays what it is: the caller
// gave up, the database did not fail.
//
// lost reports whether the error says a pooled connection died, so the
// caller can drop the others (see [Store.fail]).
func classify(ctx context.Context, err error, closed bool) (out error, lost bool) {
	if err == nil {
		return nil, false
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err, false
	}
	var pgErr *pgconn.PgError
	if isCode(err, codeQueryCanceled) {
		// Not the caller's cancellation (handled above): the statement
		// timeout. The connection is fine; the database is too slow now.
		return fmt.Errorf("pgstore: %w: statement timed out: %w", taskstore.ErrUnavailable, err), false
	}
	if closed && !errors.As(err, &pgErr) {
		// The pool refuses work once closed (its error has no type to
		// match); an answer from the server is still that answer.
		return fmt.Errorf("pgstore: %w: %w", taskstore.ErrUnavailable, errors.Join(errClosed, err)), false
	}
	if !unreachable(err) {
		return err, false
	}
	var connectErr *pgconn.ConnectError
	return fmt.Errorf("pgstore: %w: %w", taskstore.ErrUnavailable, err), !errors.As(err, &connectErr)
}

// unreachable reports whether err means the database could not be reached
// or dropped the connection, as opposed to rejecting what was asked of it.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server answered. Only these codes say it is going away or
		// cannot take the connection; the rest are about the request (or
		// about the configuration, such as a wrong password, which no retry
		// will fix).
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", // admin_shutdown: terminated, or a fast shutdown
			pgErr.Code == "57P02", // crash_shutdown
			pgErr.Code == "57P03", // cannot_connect_now: starting up or shutting down
			pgErr.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true // refused, unresolvable, or the connect timeout ran out
	}
	// pgconn marks errors that happened before anything was sent (a closed
	// or broken connection) as safe to retry; such an error cannot be about
	// the statement.
	if pgconn.SafeToRetry(err) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// isCode reports whether err is a server error with the given SQLSTATE.
func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
