package sqlitereg

import (
	"context"
	"database/sql"
	"embed"

	"github.com/a2agrpc/a2agrpc/internal/sqlmigrate"
)

// Schema changes ship in the binary and Open applies them, so an upgraded
// registry migrates its own file. Each file migrations/NNNN_name.sql runs
// once, in one transaction with the bump of PRAGMA user_version that
// records it: a crash mid-migration leaves the previous version, and the
// migration runs again at the next Open.
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
