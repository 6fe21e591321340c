package pgstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/a2agrpc/a2agrpc/internal/pgtest"
)

func TestMigrationsEmbedded(t *testing.T) {
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range all {
		if m.Version != i+1 {
			t.Errorf("migration %d is %s (version %d): versions must run 1, 2, 3...", i, m.Name, m.Version)
		}
	}
}

// TestConcurrentOpen: replicas starting together against an empty schema
// all succeed, and the migrations are applied once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	dsn := pgtest.WithParam(t, pgtest.DSN(t), "application_name", schema)
	const replicas = 4
	var wg sync.WaitGroup
	for range replicas {
		wg.Go(func() {
			s, err := Open(context.Background(), dsn, WithSchema(schema))
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	all, _ := migrations()
	if got := countRows(t, admin(t), schema, "schema_migrations"); got != len(all) {
		t.Errorf("schema_migrations has %d rows, want %d", got, len(all))
	}
}

// TestReopenAppliesNothing: opening an up-to-date schema again changes
// nothing in it.
func TestReopenAppliesNothing(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	adm := admin(t)
	applied := func() map[int32]time.Time {
		t.Helper()
		rows, err := adm.Query(context.Background(),
			"SELECT version, applied_at FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize())
		if err != nil {
			t.Fatal(err)
		}
		out := map[int32]time.Time{}
		var (
			v  int32
			at time.Time
		)
		if _, err := pgx.ForEachRow(rows, []any{&v, &at}, func() error { out[v] = at; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	openIn(t, schema).Close()
	before := applied()
	openIn(t, schema).Close()
	after := applied()
	if len(before) == 0 || len(after) != len(before) {
		t.Fatalf("applied before %v, after %v", before, after)
	}
	for v, at := range before {
		if !after[v].Equal(at) {
			t.Errorf("migration %d applied again (%v, then %v)", v, at, after[v])
		}
	}
}
