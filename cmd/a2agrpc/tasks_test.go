package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cli runs one a2agrpc command and returns its output and exit code.
func cli(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, args, &out, io.Discard)
	if err != nil {
		return out.String() + err.Error(), exitCode(err)
	}
	return out.String(), 0
}

// TestClientCommands drives card, send, get, list, cancel and subscribe
// against `a2agrpc serve` over each transport, in text and -json, and
// checks the documented exit codes.
func TestClientCommands(t *testing.T) {
	lines, stop := serveInProcess(t, 2, "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", "memory")
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	url := regexp.MustCompile(`http://[0-9.:]+`).FindString(lines[1])
	if url == "" {
		t.Fatalf("no HTTP URL in %q", lines)
	}

	out, code := cli(t, "card", "-url", url)
	if code != 0 || !strings.Contains(out, "a2agrpc echo") || !strings.Contains(out, "JSONRPC") || !strings.Contains(out, "signature: none") {
		t.Errorf("card: %d %s", code, out)
	}
	out, code = cli(t, "card", "-url", url, "-json")
	var card struct {
		Name       string `json:"name"`
		Interfaces []any  `json:"supportedInterfaces"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &card) != nil || len(card.Interfaces) != 3 {
		t.Errorf("card -json: %d %s", code, out)
	}

	for _, tr := range []string{"mesh", "grpc", "rest", "jsonrpc"} {
		t.Run(tr, func(t *testing.T) {
			base := []string{"-url", url, "-transport", tr}
			out, code := cli(t, append(append([]string{"send"}, base...), "hello", "world")...)
			if code != 0 || !strings.Contains(out, "COMPLETED") || !strings.Contains(out, "artifact echo: hello world") {
				t.Fatalf("send: %d %s", code, out)
			}
			id := regexp.MustCompile(`task ([0-9a-f-]{36})`).FindStringSubmatch(out)[1]

			out, code = cli(t, append(append([]string{"send", "-stream"}, base...), "streamed")...)
			if code != 0 || !strings.Contains(out, "artifact echo: streamed\n") || !strings.HasSuffix(out, "[COMPLETED]\n") {
				t.Errorf("send -stream: %d %q", code, out)
			}
			out, code = cli(t, append(append([]string{"send", "-stream", "-json"}, base...), "json")...)
			if n := strings.Count(out, "\n"); code != 0 || n != 5 {
				t.Errorf("send -stream -json: %d, %d lines: %s", code, n, out)
			}

			out, code = cli(t, append(append([]string{"get"}, base...), id)...)
			if code != 0 || !strings.Contains(out, id) {
				t.Errorf("get: %d %s", code, out)
			}
			out, code = cli(t, append([]string{"list", "-all"}, base...)...)
			if code != 0 || !strings.Contains(out, id) || !strings.HasPrefix(out, "TASK") {
				t.Errorf("list: %d %s", code, out)
			}

			// A held task: subscribe in the background, cancel it, and the
			// subscription ends with exit code 4 (CANCELED).
			out, code = cli(t, append(append([]string{"send", "-no-wait"}, base...), "/hold")...)
			held := regexp.MustCompile(`task ([0-9a-f-]{36})`).FindStringSubmatch(out)
			if code != 0 || held == nil {
				t.Fatalf("send -no-wait: %d %s", code, out)
			}
			sub := make(chan int, 1)
			go func() {
				_, code := cli(t, append(append([]string{"subscribe"}, base...), held[1])...)
				sub <- code
			}()
			time.Sleep(200 * time.Millisecond) // let the subscription start
			out, code = cli(t, append(append([]string{"cancel"}, base...), held[1])...)
			if code != 0 || !strings.Contains(out, "CANCELED") {
				t.Errorf("cancel: %d %s", code, out)
			}
			select {
			case code := <-sub:
				if code != exitTaskFailed {
					t.Errorf("subscribe to a canceled task exited %d, want %d", code, exitTaskFailed)
				}
			case <-time.After(10 * time.Second):
				t.Error("subscribe did not end after the cancel")
			}

			// Exit codes of failures.
			if out, code := cli(t, append(append([]string{"get"}, base...), "no-such-task")...); code != exitFailure || !strings.Contains(out, "TASK_NOT_FOUND") {
				t.Errorf("get unknown: %d %s", code, out)
			}
			if _, code := cli(t, append([]string{"get"}, base...)...); code != exitUsage {
				t.Errorf("get without an id exited %d", code)
			}
		})
	}
	if _, code := cli(t, "get", "-url", "http://127.0.0.1:1", "x"); code != exitUnreachable {
		t.Errorf("get from nowhere exited %d, want %d", code, exitUnreachable)
	}
	if _, code := cli(t, "send", "-url", url, "-transport", "carrier-pigeon", "hi"); code != exitUsage {
		t.Errorf("unknown transport exited %d, want %d", code, exitUsage)
	}
}

// TestGatewayCommand: `a2agrpc gateway` fronts a gRPC-only `a2agrpc serve`;
// the CLI's own client commands work through it over HTTP+JSON and
// JSON-RPC.
func TestGatewayCommand(t *testing.T) {
	lines, stop := serveInProcess(t, 1, "-grpc-addr", "127.0.0.1:0", "-http-addr", "", "-store", "memory")
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	target := regexp.MustCompile(`gRPC ([0-9.:]+)`).FindStringSubmatch(lines[0])
	if target == nil {
		t.Fatalf("no gRPC address in %q", lines)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"gateway", "-target", target[1], "-http-addr", "127.0.0.1:0"}, w, io.Discard)
		w.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	buf := make([]byte, 512)
	n, _ := out.Read(buf)
	go io.Copy(io.Discard, out)
	url := regexp.MustCompile(`http://[0-9.:]+`).FindString(string(buf[:n]))
	if url == "" {
		t.Fatalf("gateway printed %q", buf[:n])
	}
	for _, tr := range []string{"rest", "jsonrpc"} {
		if out, code := cli(t, "send", "-url", url, "-transport", tr, "-stream", "via gateway"); code != 0 || !strings.Contains(out, "artifact echo: via gateway") {
			t.Errorf("%s: send through the gateway: %d %s", tr, code, out)
		}
		if out, code := cli(t, "get", "-url", url, "-transport", tr, "nope"); code != exitFailure || !strings.Contains(out, "TASK_NOT_FOUND") {
			t.Errorf("%s: get unknown through the gateway: %d %s", tr, code, out)
		}
	}
	if _, code := cli(t, "gateway"); code != exitUsage {
		t.Errorf("gateway without -target exited %d", code)
	}
}
