package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// The programs the suite runs are built once per test binary, into one
// directory that TestMain removes at the end: our server from the parent
// module, and the commands of this module (a2a-go's server, our client's
// driver, our descriptor dump).
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binary returns the path of one of the built programs: "a2agrpc",
// "a2agoserver", "a2agrpcclient" or "a2agrpcdescriptor".
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() { buildDir, buildErr = buildAll() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, name)
}

// buildAll builds the programs, the two modules side by side.
func buildAll() (string, error) {
	dir, err := os.MkdirTemp("", "a2agrpc-interop-")
	if err != nil {
		return "", err
	}
	builds := []*exec.Cmd{
		exec.Command("go", "build", "-o", filepath.Join(dir, "a2agrpc"), "./cmd/a2agrpc"),
		exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/..."),
	}
	builds[0].Dir = ".."
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Go(func() {
			if out, err := b.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s (in %s): %v\n%s", b, b.Dir, err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// removeBuilds deletes the built programs; TestMain calls it last.
func removeBuilds() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

// startProcess runs a program until the test ends, and returns the first
// match of addr in what it prints to stdout (the address it serves on).
// At the end of the test it is stopped by its PID: SIGINT, then SIGKILL if
// it has not exited within 15 seconds.
func startProcess(t *testing.T, addr *regexp.Regexp, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// What it logs is shown only when the test fails: `a2agrpc serve`
	// logs every call.
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(bin)
	t.Cleanup(func() {
		defer func() {
			if t.Failed() {
				t.Logf("%s (pid %d) stderr:\n%s", name, cmd.Process.Pid, stderr.tail(64<<10))
			}
		}()
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s (pid %d) did not stop on SIGINT", name, cmd.Process.Pid)
		}
	})
	found := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		sent := false
		for lines.Scan() { // read to the end, so that the process never blocks on a full pipe
			if u := addr.FindString(lines.Text()); u != "" && !sent {
				found <- u
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatalf("%s exited without printing its address", name)
		}
		return u
	case <-time.After(60 * time.Second):
		t.Fatalf("%s printed no address within a minute", name)
		return ""
	}
}

// lockedBuffer collects a process's stderr.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns at most the last n bytes written.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}

// httpAddr matches a loopback base URL.
var httpAddr = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

// startServer runs `a2agrpc serve` (the echo agent) on free loopback ports
// and returns the base URL of its HTTP side, which serves the Agent Card.
func startServer(t *testing.T) string {
	t.Helper()
	store := "sqlite:" + filepath.Join(t.TempDir(), "tasks.db") // the default store kind, in a place of its own
	return startProcess(t, httpAddr, binary(t, "a2agrpc"),
		"serve", "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", store)
}
