package sqlitestore

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lockChildEnv makes the re-executed test binary try to open the file the
// variable names and report the outcome on stdout.
const lockChildEnv = "SQLITESTORE_LOCK_CHILD"

// TestExclusive checks that one file is used by one store at a time, in
// this process or another, and that Close hands it over.
func TestExclusive(t *testing.T) {
	if path := os.Getenv(lockChildEnv); path != "" {
		s, err := Open(context.Background(), path)
		switch {
		case errors.Is(err, ErrLocked):
			os.Stdout.WriteString("locked\n")
		case err != nil:
			os.Stdout.WriteString("error: " + err.Error() + "\n")
		default:
			s.Close()
			os.Stdout.WriteString("opened\n")
		}
		return
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path+".lock") {
		t.Errorf("second Open in the same process = %v, want ErrLocked naming the lock file", err)
	}
	if got := openInChild(t, path); got != "locked" {
		t.Errorf("Open in another process while open here: %s, want locked", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := openInChild(t, path); got != "opened" {
		t.Errorf("Open in another process after Close: %s, want opened", got)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s.Close()
}

func openInChild(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestExclusive$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "locked" || line == "opened" || strings.HasPrefix(line, "error: ") {
			return line
		}
	}
	return "no answer: " + string(out)
}
