package sqlitestore

import (
	"context"
	"database/sql"
	"embed"

	"github.com/a2agrpc/a2agrpc/internal/sqlmigrate"
)

// Schema changes ship inside the binary and are applied by Open, so an
// upgraded server migrates its own file with no separate tool. Each file is
// named NNNN_description.sql and runs once, in its own transaction together
// with the bump of PRAGMA user_version, which records how far the file has
// been migrated: a crash mid-migration leaves the file at the previous
// version, and the migration runs again at the next Open.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

func loadMigrations() ([]sqlmigrate.Migration, error) {
	return sqlmigrate.Load(migrationFS, "migrations")
}

// migrate brings the schema up to date (see package sqlmigrate).
func migrate(ctx context.Context, conn *sql.Conn) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return sqlmigrate.SQLite(ctx, conn, ms)
}
