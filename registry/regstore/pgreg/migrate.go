package pgreg

import (
	"context"
	"embed"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/a2agrpc/a2agrpc/internal/sqlmigrate"
)

// The schema ships in the binary and Open brings the database up to date,
// so a deployment needs no migration step. Files are named NNNN_what.sql,
// applied in version order, each at most once per schema.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]sqlmigrate.Migration, error) {
	ms, err := sqlmigrate.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pgreg: %w", err)
	}
	return ms, nil
}

// migrationLockClass is the first key of the advisory lock taken while
// migrating ("a2gr", distinct from the task store's); the second is a hash
// of the schema, so deployments in different schemas do not wait for each
// other.
const migrationLockClass = 0x61326772

// migrate applies the migrations the schema lacks, in one transaction, and
// returns the name of the schema the tables live in. Replicas starting
// together serialize on the transaction's advisory lock: the first applies
// everything, the others then find nothing to do. Creating the schema and
// the version table happens under the lock too, as concurrent CREATE ... IF
// NOT EXISTS statements can still collide. Versions this binary does not
// know (a newer replica's) are left alone, so a rolling upgrade's old
// replicas keep starting.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) (string, error) {
	all, err := loadMigrations()
	if err != nil {
		return "", err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(coalesce(nullif($2, ''), current_schema(), '')))`,
		int32(migrationLockClass), schema); err != nil {
		return "", err
	}
	if schema != "" {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return "", err
		}
	}
	var current *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
		return "", err
	}
	if current == nil {
		return "", fmt.Errorf("pgreg: the search_path names no existing schema")
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS registry_schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return "", err
	}
	rows, err := tx.Query(ctx, `SELECT version FROM registry_schema_migrations`)
	if err != nil {
		return "", err
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return "", err
	}
	for _, m := range all {
		if slices.Contains(done, int32(m.Version)) {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return "", fmt.Errorf("pgreg: migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO registry_schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return "", err
		}
	}
	return *current, tx.Commit(ctx)
}
