package pgstore

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/a2agrpc/a2agrpc/internal/sqlmigrate"
)

// The schema ships inside the binary and every process brings the database
// up to date when it opens the store, so a deployment needs no separate
// migration step and a binary never runs against tables older than it
// expects. Files are named NNNN_what.sql and applied in version order, each
// at most once per schema.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]sqlmigrate.Migration, error) {
	ms, err := sqlmigrate.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return ms, nil
}

// migrationLockClass is the first key of the advisory lock held while
// migrating ("a2ag"); the second is a hash of the schema, so deployments in
// different schemas do not wait for each other.
const migrationLockClass = 0x61326167

// migrate applies the migrations the schema lacks and returns the name of
// the schema the tables live in. Replicas starting together serialize on a
// transaction-scoped advisory lock: the first applies everything and
// commits, the others then find nothing left to do. Creating the schema and
// the version table also happens under the lock, because concurrent
// CREATE ... IF NOT EXISTS statements can still collide.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) (string, error) {
	all, err := migrations()
	if err != nil {
		return "", err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	// Waiting for another process's migration, or building an index on a
	// large table, may outlast the statement timeout of ordinary calls.
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(coalesce(nullif($2, ''), current_schema(), '')))`,
		int32(migrationLockClass), schema); err != nil {
		return "", err
	}
	if schema != "" {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return "", err
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return "", err
	}
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return "", err
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return "", err
	}
	applied := make(map[int]bool, len(done))
	for _, v := range done {
		applied[int(v)] = true
	}
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return "", fmt.Errorf("pgstore: migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return "", err
		}
	}
	var current *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
		return "", err
	}
	if current == nil {
		return "", fmt.Errorf("pgstore: search_path names no existing schema")
	}
	return *current, tx.Commit(ctx)
}
