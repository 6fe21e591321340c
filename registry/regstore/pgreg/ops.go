package pgreg

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/internal/rowcodec"
)

// Each write is one statement: the change to registry_agents, with the
// optimistic check in its WHERE clause, and the entry in registry_changes
// (whose trigger notifies the listeners) only if that change happened.

const createSQL = `
WITH w AS (
	INSERT INTO registry_agents (id, revision, expire_unix_ns, data) VALUES ($1, $2, $3, $4)
	ON CONFLICT (id) DO NOTHING
	RETURNING id
)
INSERT INTO registry_changes (seq, id, removed, reason, data)
SELECT $2, id, false, '', $4 FROM w`

const updateSQL = `
WITH w AS (
	UPDATE registry_agents SET revision = $2, expire_unix_ns = $3, data = $4
	WHERE id = $1 AND revision = $5
	RETURNING id
)
INSERT INTO registry_changes (seq, id, removed, reason, data)
SELECT $2, id, false, '', $4 FROM w`

const deleteSQL = `
WITH d AS (
	DELETE FROM registry_agents WHERE id = $1 AND ($2::bigint = 0 OR revision = $2)
	RETURNING id, data
)
INSERT INTO registry_changes (seq, id, removed, reason, data)
SELECT nextval('registry_revision'), id, true, $3, data FROM d
RETURNING data`

// Concurrent sweeps are safe: a row another transaction is deleting is
// waited for and then skipped, so each call returns disjoint rows.
const expireSQL = `
WITH d AS (
	DELETE FROM registry_agents WHERE expire_unix_ns < $1
	RETURNING id, data
)
INSERT INTO registry_changes (seq, id, removed, reason, data)
SELECT nextval('registry_revision'), id, true, 'expired', data FROM d
RETURNING data`

func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return regstore.ErrClosed
	}
	return ctx.Err()
}

// Put implements [regstore.Store.Put]. The revision is drawn from the
// sequence before the write, as it is part of the stored encoding; a
// conflicting write wastes one, which is harmless.
//
// Revisions increase in the order writers draw them, not strictly in
// commit order: that would serialize every replica's writes on one row.
// Updates of one registration are ordered by the revision check, so its
// revisions always increase; but writers of different registrations may
// commit in the other order (a watcher may see revision 11 of one before
// revision 10 of another), and a registration re-created in a race with its
// own deletion may come back with a revision below its last one.
func (s *Store) Put(ctx context.Context, reg *registryv1.AgentRegistration, expect int64) (*registryv1.AgentRegistration, error) {
	if reg.GetAgentId() == "" {
		return nil, regstore.ErrNoID
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	stored := proto.Clone(reg).(*registryv1.AgentRegistration)
	if err := s.pool.QueryRow(ctx, `SELECT nextval('registry_revision')`).Scan(&stored.Revision); err != nil {
		return nil, s.classify(ctx, err)
	}
	data, err := rowcodec.Marshal(stored)
	if err != nil {
		return nil, err
	}
	sql, args := createSQL, []any{stored.GetAgentId(), stored.GetRevision(), rowcodec.ExpireKey(stored), data}
	if expect != 0 {
		sql, args = updateSQL, append(args, expect)
	}
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return nil, s.classify(ctx, err)
	}
	if tag.RowsAffected() == 0 {
		return nil, regstore.ErrConflict
	}
	return stored, nil
}

// Get implements [regstore.Store.Get].
func (s *Store) Get(ctx context.Context, id string) (*registryv1.AgentRegistration, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM registry_agents WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, regstore.ErrNotFound
	}
	if err != nil {
		return nil, s.classify(ctx, err)
	}
	return rowcodec.Unmarshal(data)
}

// Delete implements [regstore.Store.Delete].
func (s *Store) Delete(ctx context.Context, id string, expect int64, reason string) (*registryv1.AgentRegistration, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var data []byte
	err := s.pool.QueryRow(ctx, deleteSQL, id, expect, reason).Scan(&data)
	if err == nil {
		return rowcodec.Unmarshal(data)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, s.classify(ctx, err)
	}
	// Nothing deleted: tell a missing registration from one at another
	// revision.
	var rev int64
	err = s.pool.QueryRow(ctx, `SELECT revision FROM registry_agents WHERE id = $1`, id).Scan(&rev)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, regstore.ErrNotFound
	case err != nil:
		return nil, s.classify(ctx, err)
	}
	return nil, regstore.ErrConflict
}

// List implements [regstore.Store.List].
func (s *Store) List(ctx context.Context) ([]*registryv1.AgentRegistration, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	return s.query(ctx, `SELECT data FROM registry_agents ORDER BY id`)
}

// Expire implements [regstore.Store.Expire]; the expired registrations are
// returned ordered by id.
func (s *Store) Expire(ctx context.Context, now time.Time) ([]*registryv1.AgentRegistration, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	out, err := s.query(ctx, expireSQL, rowcodec.Nanos(now))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *registryv1.AgentRegistration) int { return cmp.Compare(a.GetAgentId(), b.GetAgentId()) })
	return out, nil
}

// query runs a statement returning one data column and decodes it.
func (s *Store) query(ctx context.Context, sql string, args ...any) ([]*registryv1.AgentRegistration, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, s.classify(ctx, err)
	}
	blobs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, s.classify(ctx, err)
	}
	out := make([]*registryv1.AgentRegistration, 0, len(blobs))
	for _, b := range blobs {
		reg, err := rowcodec.Unmarshal(b)
		if err != nil {
			return nil, err
		}
		out = append(out, reg)
	}
	return out, nil
}
