package sqlitereg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/regstoretest"
)

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	regstoretest.Run(t, func(t *testing.T) regstore.Store {
		return openTest(t, filepath.Join(t.TempDir(), "registry.db"))
	})
}

// TestReopen: registrations, and the revision counter, survive closing and
// reopening the file, even when the highest revision was deleted.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := regstoretest.MustPut(t, s, regstoretest.NewReg("a", regstoretest.Base.Add(time.Minute)), 0)
	b := regstoretest.MustPut(t, s, regstoretest.NewReg("b", time.Time{}), 0)
	c := regstoretest.MustPut(t, s, regstoretest.NewReg("c", regstoretest.Base), 0)
	if _, err := s.Delete(ctx, "c", c.GetRevision(), regstore.ReasonDeregistered); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openTest(t, path)
	regstoretest.WantEqual(t, "a after reopen", regstoretest.MustGet(t, s, "a"), a)
	regstoretest.WantEqual(t, "b after reopen", regstoretest.MustGet(t, s, "b"), b)
	if _, err := s.Get(ctx, "c"); !errors.Is(err, regstore.ErrNotFound) {
		t.Fatalf("deleted c after reopen: %v", err)
	}
	a2 := regstoretest.MustPut(t, s, a, a.GetRevision())
	if a2.GetRevision() <= c.GetRevision() {
		t.Fatalf("revision after reopen %d, not above the last one assigned before (%d)", a2.GetRevision(), c.GetRevision())
	}
	// The expire column survived too.
	got, err := s.Expire(ctx, regstoretest.Base.Add(time.Hour))
	if err != nil || len(got) != 1 || got[0].GetAgentId() != "a" {
		t.Fatalf("Expire after reopen = %v, %v; want [a]", got, err)
	}
}

// lockChildEnv makes the re-executed test binary try to open the file it
// names and print the outcome.
const lockChildEnv = "SQLITEREG_LOCK_CHILD"

// TestLocked: while a Store has the file, another Open fails with
// ErrLocked, in this process or another (whether the file is new or
// already migrated), and the first store is unharmed; Close hands the file
// over.
func TestLocked(t *testing.T) {
	if path := os.Getenv(lockChildEnv); path != "" {
		s, err := Open(path)
		switch {
		case errors.Is(err, ErrLocked):
			fmt.Println("locked")
		case err != nil:
			fmt.Println("error:", err)
		default:
			s.Close()
			fmt.Println("opened")
		}
		return
	}
	path := filepath.Join(t.TempDir(), "registry.db")
	var expect int64 // the revision of "a": none on the fresh file
	for _, state := range []string{"fresh", "migrated"} {
		first, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path); !errors.Is(err, ErrLocked) {
			first.Close()
			t.Fatalf("second Open in this process (%s file): err = %v, want ErrLocked", state, err)
		}
		if got := openInChild(t, path); got != "locked" {
			first.Close()
			t.Fatalf("Open in another process (%s file): %s, want locked", state, got)
		}
		expect = regstoretest.MustPut(t, first, regstoretest.NewReg("a", time.Time{}), expect).GetRevision()
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := openInChild(t, path); got != "opened" {
		t.Fatalf("Open in another process after Close: %s, want opened", got)
	}
	openTest(t, path)
}

func openInChild(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLocked$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if line == "locked" || line == "opened" || strings.HasPrefix(line, "error:") {
			return line
		}
	}
	return "no answer: " + string(out)
}

// TestMigrations: the schema is at the latest version, reopening does not
// rerun migrations, and a file from a newer program is refused.
func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	regstoretest.MustPut(t, s, regstoretest.NewReg("a", time.Time{}), 0)
	s.Close()
	s, err = Open(path) // would fail on CREATE TABLE if migrations reran
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	regstoretest.MustGet(t, s, "a")
	s.Close()

	all, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != len(all) {
		t.Fatalf("user_version = %d, %v; want %d", v, err, len(all))
	}
	if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open of a file with a newer schema succeeded")
	}
}

// TestNotAFilePath: in-memory and URI names are refused; the store is a
// file by definition.
func TestNotAFilePath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db"} {
		if s, err := Open(p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}
