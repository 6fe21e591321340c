package sqlitestore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// crashChildEnv makes the test binary, re-executed by TestCrashDurability,
// act as the process that is killed: it writes to the store named by the
// variable until it dies, reporting each write the store acknowledged.
const crashChildEnv = "SQLITESTORE_CRASH_CHILD"

// TestCrashDurability kills a process that is writing (SIGKILL, so nothing
// of it runs afterwards) and checks, on reopening, that every write the
// store had acknowledged is there and the file is intact. It is what
// synchronous=NORMAL promises: a commit is in the operating system's hands
// before it is acknowledged.
func TestCrashDurability(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "tasks.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]int64{} // task id -> highest acknowledged version
	sc := bufio.NewScanner(out)
	n := 0
	killed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue // the test framework's own output
		}
		v, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		acked[f[1]] = max(acked[f[1]], v)
		// Kill mid-stream, then keep reading: acknowledgements the child
		// wrote before it died are still in the pipe.
		if n++; n == 2000 && !killed {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before it was killed: %v", err)
	}

	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopening after the crash: %v", err)
	}
	defer s.Close()
	var check string
	if err := s.w.conn.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	rows, err := s.w.conn.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check reports violations")
	}
	rows.Close()
	for id, v := range acked {
		rec, err := s.Get(ctx, id)
		if err != nil {
			t.Errorf("acknowledged task %s: %v", id, err)
			continue
		}
		if rec.Version < v {
			t.Errorf("task %s at version %d, but version %d was acknowledged", id, rec.Version, v)
		}
		if v > 1 {
			evs, err := s.Events(ctx, id, v-1)
			if err != nil || len(evs) == 0 || evs[0].Seq != v {
				t.Errorf("task %s: event %d acknowledged, Events = %v, %v", id, v, evs, err)
			}
		}
	}
	t.Logf("%d acknowledgements for %d tasks before the kill, all found", n, len(acked))
}

// crashChild writes from several goroutines, so that the kill can land in
// a group commit, and prints one line per acknowledged write.
func crashChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	ack := func(id string, v int64) {
		mu.Lock()
		fmt.Printf("ack %s %d\n", id, v)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				if err := s.Create(ctx, record(id, a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				ack(id, 1)
				v := int64(1)
				for _, state := range []a2av1.TaskState{a2av1.TaskState_TASK_STATE_WORKING, a2av1.TaskState_TASK_STATE_COMPLETED} {
					next := task(id, state, time.Duration(v)*time.Second)
					var err error
					if v, err = s.Update(ctx, id, v, taskstore.Update{Task: next, Event: statusEvent(next)}); err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(2)
					}
					ack(id, v)
				}
			}
		})
	}
	wg.Wait()
}
