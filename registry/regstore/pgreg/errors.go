package pgreg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// classify decides what a database error means to the store's callers.
// The registry answers regstore.ErrUnavailable with a retryable status, so
// every failure to reach the database carries it, while errors about the
// statement itself do not (a retry would fail the same way). The caller's
// own cancellation stays what it is, and anything after Close is
// regstore.ErrClosed.
func (s *Store) classify(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return err
	case s.closed.Load():
		return fmt.Errorf("%w: %w", regstore.ErrClosed, err)
	case isCode(err, "57014"): // query_canceled that the caller did not ask for: statement_timeout
		return fmt.Errorf("%w: pgreg: statement timed out: %w", regstore.ErrUnavailable, err)
	case unreachable(err):
		return fmt.Errorf("%w: pgreg: %w", regstore.ErrUnavailable, err)
	}
	return fmt.Errorf("pgreg: %w", err)
}

// unreachable reports whether err means the database could not be reached
// or dropped the connection, as opposed to rejecting the statement.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server answered; only these codes say it is going away or
		// cannot take the connection.
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", // admin_shutdown (also pg_terminate_backend)
			pgErr.Code == "57P02", // crash_shutdown
			pgErr.Code == "57P03", // cannot_connect_now
			pgErr.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || pgconn.SafeToRetry(err) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
