package pgreg

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/regstoretest"
)

// TestConformance runs the suite with the tables in the DSN's search_path,
// a fresh schema per subtest.
func TestConformance(t *testing.T) {
	regstoretest.Run(t, func(t *testing.T) regstore.Store {
		schema := pgtest.Schema(t, "pgreg_test")
		dsn := pgtest.WithParam(t, pgtest.DSN(t), "search_path", schema)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestSharedWatch: a change made through one Store reaches the watchers of
// another Store on the same schema, as written or as removed.
func TestSharedWatch(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.SchemaName(t, "pgreg_test")
	a, b := openIn(t, schema), openIn(t, schema)
	wa, wb := regstoretest.MustWatch(t, a), regstoretest.MustWatch(t, b)

	x := regstoretest.MustPut(t, a, regstoretest.NewReg("x", regstoretest.Base), 0)
	regstoretest.WantPut(t, regstoretest.Next(t, wb, "B hears A's create"), x)
	x2 := regstoretest.MustPut(t, b, regstoretest.MustGet(t, b, "x"), x.GetRevision())
	regstoretest.WantPut(t, regstoretest.Next(t, wb, "B hears its own update"), x2)
	if _, err := a.Delete(ctx, "x", x2.GetRevision(), regstore.ReasonDeregistered); err != nil {
		t.Fatal(err)
	}
	regstoretest.WantRemoved(t, regstoretest.Next(t, wb, "B hears A's delete"), x2, regstore.ReasonDeregistered)

	regstoretest.WantPut(t, regstoretest.Next(t, wa, "A hears its create"), x)
	regstoretest.WantPut(t, regstoretest.Next(t, wa, "A hears B's update"), x2)
	regstoretest.WantRemoved(t, regstoretest.Next(t, wa, "A hears its delete"), x2, regstore.ReasonDeregistered)
	regstoretest.Quiet(t, wa)
	regstoretest.Quiet(t, wb)
}

// TestSharedExpire: replicas sweeping at once return each expired
// registration exactly once between them.
func TestSharedExpire(t *testing.T) {
	schema := pgtest.SchemaName(t, "pgreg_test")
	a, b := openIn(t, schema), openIn(t, schema)
	regstoretest.ExpireOnce(t, []regstore.Store{a, b, a, b}, a)
}

// TestLargeExpire: one sweep removing more registrations than one
// notification lists reaches watchers whole.
func TestLargeExpire(t *testing.T) {
	ctx := context.Background()
	s := openIn(t, pgtest.SchemaName(t, "pgreg_test"))
	const n = 650 // three notifications of at most 300 seqs
	for i := range n {
		regstoretest.MustPut(t, s, regstoretest.NewReg(fmt.Sprintf("r%04d", i), regstoretest.Base), 0)
	}
	w := regstoretest.MustWatch(t, s)
	got, err := s.Expire(ctx, regstoretest.Base.Add(time.Second))
	if err != nil || len(got) != n {
		t.Fatalf("Expire = %d registrations, %v; want %d", len(got), err, n)
	}
	seen := map[string]bool{}
	for len(seen) < n {
		c := regstoretest.Next(t, w, fmt.Sprintf("expiry %d of %d", len(seen)+1, n))
		if c.Removed == nil || c.Reason != regstore.ReasonExpired || seen[c.ID] {
			t.Fatalf("unexpected change %+v", c)
		}
		seen[c.ID] = true
	}
}

// TestResync: when the listening connection is lost, the store reconnects
// and tells its watchers to reload; changes after that are delivered again.
func TestResync(t *testing.T) {
	schema := pgtest.SchemaName(t, "pgreg_test")
	s := openIn(t, schema)
	w := regstoretest.MustWatch(t, s)
	if n := terminate(t, admin(t), schema, "LISTEN%"); n != 1 {
		t.Fatalf("terminated %d listening backends, want 1", n)
	}
	if c := regstoretest.Next(t, w, "resync after losing the listener"); !c.Resync {
		t.Fatalf("change %+v, want a Resync", c)
	}
	x := regstoretest.MustPut(t, s, regstoretest.NewReg("x", regstoretest.Base), 0)
	regstoretest.WantPut(t, regstoretest.Next(t, w, "create after reconnecting"), x)
	// A watch opened after the reconnection works too.
	w2 := regstoretest.MustWatch(t, s)
	y := regstoretest.MustPut(t, s, regstoretest.NewReg("y", regstoretest.Base), 0)
	regstoretest.WantPut(t, regstoretest.Next(t, w2, "create on a new watch"), y)
}

// TestUnavailable: a database that cannot be reached is ErrUnavailable.
func TestUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	s, err := Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=5")
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable database succeeded")
	}
	if !errors.Is(err, regstore.ErrUnavailable) {
		t.Fatalf("Open: err = %v, want ErrUnavailable", err)
	}
}

// TestUnavailableAfterTermination: calls made while the store's
// connections are being killed fail with ErrUnavailable (or succeed on a
// fresh connection), never with an unclassified error.
func TestUnavailableAfterTermination(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.SchemaName(t, "pgreg_test")
	s := openIn(t, schema)
	regstoretest.MustPut(t, s, regstoretest.NewReg("x", regstoretest.Base), 0)
	terminate(t, admin(t), schema, "%")
	for range 3 {
		if _, err := s.Get(ctx, "x"); err != nil && !errors.Is(err, regstore.ErrUnavailable) {
			t.Fatalf("Get after the backends were terminated: %v", err)
		}
	}
}

// TestMigrateConcurrently: replicas opening a fresh schema at once migrate
// it once, in a version table of the registry's own.
func TestMigrateConcurrently(t *testing.T) {
	schema := pgtest.SchemaName(t, "pgreg_test")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { openIn(t, schema) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	conn := admin(t)
	var applied int
	q := `SELECT count(*) FROM ` + pgx.Identifier{schema, "registry_schema_migrations"}.Sanitize()
	if err := conn.QueryRow(context.Background(), q).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	all, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(all) {
		t.Fatalf("%d migrations recorded, want %d", applied, len(all))
	}
	var taskTable bool
	if err := conn.QueryRow(context.Background(),
		`SELECT to_regclass($1) IS NOT NULL`, schema+".schema_migrations").Scan(&taskTable); err != nil {
		t.Fatal(err)
	}
	if taskTable {
		t.Fatal("the registry created the task store's schema_migrations table")
	}
}

// TestPrune: logged changes are deleted after the retention.
func TestPrune(t *testing.T) {
	schema := pgtest.SchemaName(t, "pgreg_test")
	s := openIn(t, schema, WithChangeRetention(100*time.Millisecond))
	regstoretest.MustPut(t, s, regstoretest.NewReg("x", regstoretest.Base), 0)
	conn := admin(t)
	q := `SELECT count(*) FROM ` + pgx.Identifier{schema, "registry_changes"}.Sanitize()
	deadline := time.Now().Add(regstoretest.Wait)
	for {
		var n int
		if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d logged changes left after %v", n, regstoretest.Wait)
		}
		time.Sleep(50 * time.Millisecond) // polling the database; nothing to wait on
	}
}
