package auth_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
)

// TestAPIKeyFileReloads: a key added to the file starts working and a key
// removed stops, without a restart; a broken edit keeps the keys in force.
func TestAPIKeyFileReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	oldKey, _ := auth.NewAPIKey()
	newKey, _ := auth.NewAPIKey()
	write := func(content string) {
		t.Helper()
		// Write and rename, as deploy tools do, so a poll never sees a
		// half-written file.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("old " + auth.HashAPIKey(oldKey) + "\n")
	reloadErrs := make(chan error, 16)
	f, err := auth.WatchAPIKeys(path, auth.WithAPIKeyPollInterval(10*time.Millisecond),
		auth.WithAPIKeyErrorLog(func(err error) {
			select {
			case reloadErrs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p, err := f.Verify(oldKey); err != nil || p.Subject != "old" {
		t.Fatalf("old key: %v %v", p, err)
	}
	if _, err := f.Verify(newKey); !errors.Is(err, a2agrpc.ErrUnauthenticated) {
		t.Fatalf("new key before it is added: %v", err)
	}

	write("new " + auth.HashAPIKey(newKey) + "\n") // rotation: old out, new in
	waitFor(t, "the new key to work", func() bool { _, err := f.Verify(newKey); return err == nil })
	if _, err := f.Verify(oldKey); !errors.Is(err, a2agrpc.ErrUnauthenticated) {
		t.Fatalf("revoked key still works: %v", err)
	}

	write("broken line with three fields\n")
	select {
	case err := <-reloadErrs:
		if err == nil {
			t.Fatal("nil reload error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a broken file was not reported")
	}
	if _, err := f.Verify(newKey); err != nil {
		t.Fatalf("a broken edit dropped the keys in force: %v", err)
	}
}

func TestWatchAPIKeysNeedsAValidFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := auth.WatchAPIKeys(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("name not-a-hash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.WatchAPIKeys(bad); err == nil {
		t.Fatal("invalid file accepted")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
