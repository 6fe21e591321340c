package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeAndBench runs the main job on a free port and drives it with the
// load tool over real TCP, in every mode and on both transports.
func TestServeAndBench(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "tasks.db") // the default store, in a place of its own
	lines, stop := serveInProcess(t, 2, "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", db)
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(lines[0])
	if addr == "" {
		t.Fatalf("no address in %q", lines[0])
	}
	httpBase := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(lines[1])

	for _, tc := range [][]string{
		{"-target", "grpc", "-mode", "unary"},
		{"-target", "grpc", "-mode", "stream"},
		{"-target", "mesh", "-mode", "unary", "-conns", "2"},
		{"-target", "mesh", "-mode", "stream"},
		{"-target", "rest", "-mode", "unary"},
		{"-target", "rest", "-mode", "stream"},
		{"-target", "jsonrpc", "-mode", "unary"},
		{"-target", "jsonrpc", "-mode", "stream"},
	} {
		t.Run(strings.Join(tc, "_"), func(t *testing.T) {
			var stdout strings.Builder
			target := addr
			switch tc[1] {
			case "rest":
				target = httpBase
			case "jsonrpc":
				target = httpBase + "/jsonrpc"
			}
			args := append([]string{"bench", "-json", "-addr", target, "-c", "4", "-d", "300ms", "-warmup", "50ms"}, tc...)
			if err := run(context.Background(), args, &stdout, io.Discard); err != nil {
				t.Fatal(err)
			}
			var res map[string]any
			if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
				t.Fatalf("bench output %q: %v", stdout.String(), err)
			}
			if res["calls"].(float64) < 1 || res["errors"].(float64) != 0 {
				t.Errorf("bench = %v", res)
			}
			if tc[3] == "stream" && res["events"].(float64) != 5*res["calls"].(float64) {
				t.Errorf("stream mode saw %v events in %v streams, want 5 per stream", res["events"], res["calls"])
			}
		})
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestBenchAgainstBaseline(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	out, w := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- run(ctx, []string{"baseline", "-addr", "127.0.0.1:0"}, w, io.Discard); w.Close() }()
	lines := bufio.NewScanner(out)
	lines.Scan()
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(lines.Text())
	go func() {
		for lines.Scan() {
		}
	}()
	for _, mode := range []string{"unary", "stream"} {
		var stdout strings.Builder
		if err := run(context.Background(), []string{"bench", "-target", "grpc-raw", "-addr", addr, "-mode", mode, "-c", "2", "-d", "200ms", "-warmup", "10ms"}, &stdout, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout.String(), " 0 errors") {
			t.Errorf("%s: %s", mode, stdout.String())
		}
	}
	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func TestBench_badFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "-target", "carrier-pigeon"},
		{"bench", "-c", "many"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err != errUsage {
			t.Errorf("run(%q) = %v, want errUsage", args, err)
		}
	}
}

// TestServeOnePort serves gRPC, the mesh stream, REST and JSON-RPC on one
// port and drives each.
func TestServeOnePort(t *testing.T) {
	lines, stop := serveInProcess(t, 1, "-one-port", "127.0.0.1:0", "-store", "memory")
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(lines[0])
	if addr == "" {
		t.Fatalf("no address in %q", lines[0])
	}
	for _, tc := range [][]string{
		{"-target", "grpc", "-addr", addr, "-mode", "unary"},
		{"-target", "mesh", "-addr", addr, "-mode", "stream"},
		{"-target", "rest", "-addr", "http://" + addr, "-mode", "stream"},
		{"-target", "jsonrpc", "-addr", "http://" + addr + "/jsonrpc", "-mode", "unary"},
	} {
		var stdout strings.Builder
		if err := run(context.Background(), append([]string{"bench", "-c", "2", "-d", "200ms", "-warmup", "20ms"}, tc...), &stdout, io.Discard); err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		if !strings.Contains(stdout.String(), " 0 errors") {
			t.Errorf("%v: %s", tc, stdout.String())
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// serveInProcess runs `a2agrpc serve args...` in this process and returns
// the first n lines it prints (its addresses); stop shuts it down and
// returns its error, or a timeout error if it does not stop.
func serveInProcess(t *testing.T, n int, args ...string) (lines []string, stop func() error) {
	t.Helper()
	return serveLogged(t, n, io.Discard, args...)
}

// serveLogged is serveInProcess with serve's stderr (its logs) going to
// stderr.
func serveLogged(t *testing.T, n int, stderr io.Writer, args ...string) (lines []string, stop func() error) {
	t.Helper()
	lines, cancel, wait := runInProcess(t, n, stderr, append([]string{"serve"}, args...)...)
	return lines, func() error {
		cancel()
		return wait()
	}
}

// runInProcess runs `a2agrpc args...` in this process with its logs going
// to stderr, and returns the first n lines it prints (its addresses).
// stop cancels it (the SIGTERM of the tests) and returns at once; wait
// returns its error, or a timeout error if it does not end. It is stopped
// and waited for when the test ends.
func runInProcess(t *testing.T, n int, stderr io.Writer, args ...string) (lines []string, stop func(), wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, w, stderr)
		w.Close()
	}()
	sc := bufio.NewScanner(out)
	for len(lines) < n && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < n {
		cancel()
		t.Fatalf("%s printed %q, want %d lines", args[0], lines, n)
	}
	go func() { // drain the rest of the output
		for sc.Scan() {
		}
	}()
	var result error
	ended := false
	wait = func() error {
		if ended {
			return result
		}
		select {
		case err := <-done:
			ended, result = true, err
			if err != nil {
				result = fmt.Errorf("%s: %w", args[0], err)
			}
		case <-time.After(15 * time.Second):
			result = fmt.Errorf("%s did not shut down", args[0])
		}
		return result
	}
	t.Cleanup(func() {
		cancel()
		_ = wait()
	})
	return lines, cancel, wait
}
