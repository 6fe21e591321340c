package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Timing of the listening connection.
const (
	// watchIdle is how long Watch waits for a notification before checking
	// that the connection still works. A connection cut without a reset (a
	// dead peer, a dropped NAT entry) would otherwise wait silently
	// forever, and every notification in between would be lost unannounced.
	watchIdle = 30 * time.Second
	// watchPingTimeout bounds that check.
	watchPingTimeout = 5 * time.Second
	// Reconnection backoff: the first retry is immediate (a single lost
	// backend is the common case), then the delay doubles up to the cap so
	// that replicas do not hammer a database that is restarting.
	watchBackoffMin = 100 * time.Millisecond
	watchBackoffMax = 10 * time.Second
)

// channelFor names the NOTIFY channel for the tables in schema. Channels are
// database-wide while tables are per schema, so each schema gets its own
// channel and a watcher hears only about its own tasks. Channel names are
// limited to 63 bytes; a schema name too long for that is replaced by a hash.
func channelFor(schema string) string {
	const base = "a2agrpc_events"
	if schema == "public" {
		return base
	}
	ch := base + "." + schema
	if len(ch) > 63 {
		sum := sha256.Sum256([]byte(schema))
		ch = base + "." + hex.EncodeToString(sum[:16])
	}
	return ch
}

// Watch implements [taskstore.Watcher]. It holds a connection of its own,
// outside the pool, for as long as it runs: a LISTEN lasts as long as its
// session, and a pooled connection would be handed to other work.
//
// Once listening, Watch calls fn(Notification{}): whatever was logged before
// the LISTEN took effect was not heard, so the watcher must re-read what it
// follows. If the connection is lost, Watch reconnects with capped
// exponential backoff and says so the same way. Watch also returns when the
// store is closed.
func (s *Store) Watch(ctx context.Context, fn func(taskstore.Notification)) error {
	if s.closed.Load() {
		return s.fail(ctx, errClosed)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.life, cancel)()

	conn, err := s.listen(ctx)
	if err != nil {
		return s.fail(ctx, err)
	}
	for {
		fn(taskstore.Notification{})
		s.relay(ctx, conn, fn)
		closeConn(conn)
		if conn = s.relisten(ctx); conn == nil {
			return nil
		}
	}
}

// listen opens the dedicated connection and subscribes it to the channel.
// It copies the pool's connection settings, search_path included.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

// relisten reconnects until it succeeds or ctx is done (then nil).
func (s *Store) relisten(ctx context.Context) *pgx.Conn {
	delay := watchBackoffMin
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// Jitter spreads the replicas of a restarted database apart.
			t := time.NewTimer(delay/2 + rand.N(delay/2+1))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			delay = min(2*delay, watchBackoffMax)
		}
		if ctx.Err() != nil {
			return nil
		}
		if conn, err := s.listen(ctx); err == nil {
			return conn
		}
	}
}

// relay passes notifications to fn until ctx is done or the connection
// fails.
func (s *Store) relay(ctx context.Context, conn *pgx.Conn, fn func(taskstore.Notification)) {
	for {
		wait, cancel := context.WithTimeout(ctx, watchIdle)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			if note, ok := parseNotification(n.Payload); ok {
				fn(note)
			}
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while. A timed-out wait leaves the connection
			// usable; make sure the server is still at the other end.
			// Notifications arriving during the ping are kept by pgx for
			// the next wait.
			ping, cancel := context.WithTimeout(ctx, watchPingTimeout)
			err := conn.Ping(ping)
			cancel()
			if err != nil {
				return
			}
		default:
			return
		}
	}
}

// parseNotification reads the "<seq> <task id>" payload updateSQL sends;
// the sequence comes first because task ids may contain spaces. Anything
// else on the channel is ignored.
func parseNotification(payload string) (taskstore.Notification, bool) {
	seq, id, ok := strings.Cut(payload, " ")
	if !ok || id == "" {
		return taskstore.Notification{}, false
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil {
		return taskstore.Notification{}, false
	}
	return taskstore.Notification{TaskID: id, Seq: n}, true
}

// closeConn closes a dedicated connection, bounding the goodbye to a
// server that may no longer answer.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
