package pgreg

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/internal/rowcodec"
)

// Timing of the listening connection.
const (
	// listenIdle is how long the listener waits for a notification before
	// checking that its connection still works. A connection cut without a
	// reset (a dead peer, a dropped NAT entry) would otherwise wait silently
	// forever while notifications are lost.
	listenIdle = 30 * time.Second
	// listenPingTimeout bounds that check.
	listenPingTimeout = 5 * time.Second
	// Reconnection backoff: the first retry is immediate (one lost backend
	// is the common case), then the delay doubles up to the cap, so that
	// replicas do not hammer a database that is restarting.
	backoffMin = 100 * time.Millisecond
	backoffMax = 10 * time.Second
)

// Payload prefixes on the channel: the insert trigger's list of change
// seqs, and Watch's sync tokens.
const (
	changePrefix = "c:"
	syncPrefix   = "s:"
)

// listen opens the dedicated connection, outside the pool (a LISTEN lasts
// as long as its session, and a pooled connection would be handed to other
// work), with the pool's settings, search_path included.
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

// listenLoop relays notifications until Close, reconnecting whenever the
// connection fails. After a reconnection every watcher gets a resync:
// whatever was notified while the listener was away is lost.
func (s *Store) listenLoop(conn *pgx.Conn) {
	for {
		s.relay(conn)
		closeConn(conn)
		if conn = s.reconnect(); conn == nil {
			return
		}
		s.subscribeAll()
		s.hub.Resync()
	}
}

// reconnect retries listen with jittered exponential backoff until it
// succeeds or the store closes (then nil).
func (s *Store) reconnect() *pgx.Conn {
	delay := backoffMin
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// Jitter spreads the replicas of a restarted database apart.
			t := time.NewTimer(delay/2 + rand.N(delay/2+1))
			select {
			case <-s.life.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			delay = min(2*delay, backoffMax)
		}
		if s.life.Err() != nil {
			return nil
		}
		if conn, err := s.listen(s.life); err == nil {
			return conn
		}
	}
}

// relay handles notifications until the store closes or the connection
// fails.
func (s *Store) relay(conn *pgx.Conn) {
	for {
		wait, cancel := context.WithTimeout(s.life, listenIdle)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case s.life.Err() != nil:
			return
		case err == nil:
			s.handle(n.Payload)
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while: check the server is still there.
			// Notifications arriving meanwhile are kept for the next wait.
			ping, cancel := context.WithTimeout(s.life, listenPingTimeout)
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

// handle acts on one notification. Payloads it does not understand are
// ignored: the channel is the registry's, but anyone may NOTIFY on it.
func (s *Store) handle(payload string) {
	if token, ok := strings.CutPrefix(payload, syncPrefix); ok {
		s.subscribe(token)
		return
	}
	list, ok := strings.CutPrefix(payload, changePrefix)
	if !ok {
		return
	}
	var seqs []int64
	for f := range strings.SplitSeq(list, ",") {
		seq, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return
		}
		seqs = append(seqs, seq)
	}
	changes, err := s.readChanges(seqs)
	if err != nil {
		// The changes happened but cannot be told: have watchers reload.
		if s.life.Err() == nil {
			s.hub.Resync()
		}
		return
	}
	for _, c := range changes {
		s.hub.Publish(c)
	}
}

// errPruned: a notified change is no longer in the log.
var errPruned = errors.New("pgreg: notified change already pruned")

// readChanges reads the logged changes with these seqs, in seq order.
func (s *Store) readChanges(seqs []int64) ([]regstore.Change, error) {
	rows, err := s.pool.Query(s.life,
		`SELECT id, removed, reason, data FROM registry_changes WHERE seq = ANY($1) ORDER BY seq`, seqs)
	if err != nil {
		return nil, err
	}
	var (
		out        []regstore.Change
		id, reason string
		removed    bool
		data       []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &removed, &reason, &data}, func() error {
		reg, err := rowcodec.Unmarshal(data)
		if err != nil {
			return err
		}
		c := regstore.Change{ID: id, Reg: reg}
		if removed {
			c = regstore.Change{ID: id, Removed: reg, Reason: reason}
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) != len(seqs) {
		return nil, errPruned
	}
	return out, nil
}

// closeConn closes a dedicated connection, bounding the goodbye to a
// server that may no longer answer.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
