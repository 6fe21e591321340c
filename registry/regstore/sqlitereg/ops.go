package sqlitereg

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/internal/rowcodec"
)

// Put implements [regstore.Store.Put].
func (s *Store) Put(ctx context.Context, reg *registryv1.AgentRegistration, expect int64) (*registryv1.AgentRegistration, error) {
	if reg.GetAgentId() == "" {
		return nil, regstore.ErrNoID
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	stored := proto.Clone(reg).(*registryv1.AgentRegistration)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Stored revisions start at 1, so a missing row is at revision 0,
		// which is what expect 0 asks for.
		var cur int64
		err := tx.QueryRowContext(ctx, "SELECT revision FROM registry_agents WHERE id = ?", reg.GetAgentId()).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur != expect {
			return regstore.ErrConflict
		}
		if err := tx.QueryRowContext(ctx, "UPDATE registry_revision SET last = last + 1 RETURNING last").Scan(&stored.Revision); err != nil {
			return err
		}
		data, err := rowcodec.Marshal(stored)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO registry_agents (id, revision, expire_unix_ns, data) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, expire_unix_ns = excluded.expire_unix_ns, data = excluded.data`,
			stored.GetAgentId(), stored.GetRevision(), rowcodec.ExpireKey(stored), data)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.hub.Publish(regstore.Change{ID: stored.GetAgentId(), Reg: stored})
	return stored, nil
}

// Get implements [regstore.Store.Get].
func (s *Store) Get(ctx context.Context, id string) (*registryv1.AgentRegistration, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var data []byte
	err := s.conn.QueryRowContext(ctx, "SELECT data FROM registry_agents WHERE id = ?", id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, regstore.ErrNotFound
	}
	if err != nil {
		return nil, classify(err)
	}
	return rowcodec.Unmarshal(data)
}

// Delete implements [regstore.Store.Delete].
func (s *Store) Delete(ctx context.Context, id string, expect int64, reason string) (*registryv1.AgentRegistration, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var removed *registryv1.AgentRegistration
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			rev  int64
			data []byte
		)
		err := tx.QueryRowContext(ctx, "SELECT revision, data FROM registry_agents WHERE id = ?", id).Scan(&rev, &data)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return regstore.ErrNotFound
		case err != nil:
			return err
		case expect != 0 && rev != expect:
			return regstore.ErrConflict
		}
		if removed, err = rowcodec.Unmarshal(data); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM registry_agents WHERE id = ?", id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.hub.Publish(regstore.Change{ID: id, Removed: removed, Reason: reason})
	return proto.Clone(removed).(*registryv1.AgentRegistration), nil
}

// List implements [regstore.Store.List]. Ids are compared as bytes
// (SQLite's BINARY collation), as Go compares strings.
func (s *Store) List(ctx context.Context) ([]*registryv1.AgentRegistration, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	rows, err := s.conn.QueryContext(ctx, "SELECT data FROM registry_agents ORDER BY id")
	if err != nil {
		return nil, classify(err)
	}
	out, err := scanRegs(rows)
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// Expire implements [regstore.Store.Expire]; the expired registrations are
// returned ordered by id.
func (s *Store) Expire(ctx context.Context, now time.Time) ([]*registryv1.AgentRegistration, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []*registryv1.AgentRegistration
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "DELETE FROM registry_agents WHERE expire_unix_ns < ? RETURNING data", rowcodec.Nanos(now))
		if err != nil {
			return err
		}
		out, err = scanRegs(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *registryv1.AgentRegistration) int { return cmp.Compare(a.GetAgentId(), b.GetAgentId()) })
	for _, r := range out {
		s.hub.Publish(regstore.Change{ID: r.GetAgentId(), Removed: r, Reason: regstore.ReasonExpired})
	}
	return out, nil
}

// Watch implements [regstore.Store.Watch]. It sees the writes of this Store
// only, which are all the writes there are: the Store holds the file
// exclusively.
func (s *Store) Watch(ctx context.Context) (<-chan regstore.Change, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	ch, ok := s.hub.Subscribe(ctx)
	if !ok {
		return nil, regstore.ErrClosed
	}
	return ch, nil
}

// inTx runs fn in a transaction on the store's connection, committing if
// it returns nil. The caller holds s.mu.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return classify(err)
	}
	return classify(tx.Commit())
}

// scanRegs decodes and closes rows of one data column.
func scanRegs(rows *sql.Rows) ([]*registryv1.AgentRegistration, error) {
	defer rows.Close()
	var out []*registryv1.AgentRegistration
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		reg, err := rowcodec.Unmarshal(data)
		if err != nil {
			return nil, err
		}
		out = append(out, reg)
	}
	return out, rows.Err()
}
