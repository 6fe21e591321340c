package pgreg

import (
	"context"
	"crypto/md5" //nolint:gosec // names a channel; not a security use
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/internal/fanout"
)

// Store is the PostgreSQL [regstore.Store]. It is safe for concurrent use,
// and any number of Stores, in any number of processes, may share one
// schema.
type Store struct {
	cfg     config
	pool    *pgxpool.Pool
	channel string // NOTIFY channel of the schema (see channelFor)
	hub     *fanout.Hub[regstore.Change]

	// Watch calls waiting for the listener to reach their sync token
	// (see watch.go), by token.
	syncMu sync.Mutex
	syncs  map[string]*syncReq

	closed    atomic.Bool
	closeOnce sync.Once
	life      context.Context // done when Close starts: stops the background work
	stop      context.CancelFunc
	bg        sync.WaitGroup // the listener and the pruner
}

var _ regstore.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// keyword/value string; pool settings such as pool_max_conns are read from
// it), brings the schema up to date, and starts listening for changes and
// pruning the change log, which Close stops. It returns once the listener
// is subscribed, so a Watch opened after Open misses nothing. A database
// that cannot be reached is reported as [regstore.ErrUnavailable].
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgreg: %w", err)
	}
	if cfg.schema != "" {
		// Sent in the startup message, so every connection, pooled or the
		// listener, has it before its first statement.
		pcfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.schema}.Sanitize()
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgreg: %w", err)
	}
	life, stop := context.WithCancel(context.Background())
	s := &Store{
		cfg:   cfg,
		pool:  pool,
		hub:   fanout.New(cfg.watchBuffer, regstore.Change{Resync: true}, regstore.Change.Clone),
		syncs: map[string]*syncReq{},
		life:  life,
		stop:  stop,
	}
	schema, err := migrate(ctx, pool, cfg.schema)
	if err != nil {
		stop()
		pool.Close()
		return nil, s.classify(ctx, err)
	}
	s.channel = channelFor(schema)
	conn, err := s.listen(ctx)
	if err != nil {
		stop()
		pool.Close()
		return nil, s.classify(ctx, err)
	}
	s.bg.Go(func() { s.listenLoop(conn) })
	s.bg.Go(s.pruneLoop)
	return s, nil
}

// channelFor names the NOTIFY channel of the tables in schema. Channels are
// database-wide while tables are per schema, so each schema has its own.
// Hashing keeps the name within the 63-byte limit whatever the schema's
// name; the insert trigger on registry_changes computes the same name.
func channelFor(schema string) string {
	sum := md5.Sum([]byte(schema)) //nolint:gosec // see import
	return "a2agrpc_registry_" + hex.EncodeToString(sum[:])
}

// Ping implements [regstore.Store.Ping]: the database answers a query now.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return regstore.ErrClosed
	}
	return s.classify(ctx, s.pool.Ping(ctx))
}

// Close implements [regstore.Store.Close]: it stops the listener and the
// pruner, closes the watch channels, waits for calls in flight and closes
// the connections. Calls after Close fail with [regstore.ErrClosed]; closing
// again returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stop()
		s.bg.Wait()
		s.hub.Close()
		s.pool.Close()
	})
	return nil
}
