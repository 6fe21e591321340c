package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRun runs the example: the Node client, with @a2a-js/sdk installed
// from the lockfile, must read the Go agent's card and get the echo back
// from a blocking send and a stream over each of the three bindings.
func TestRun(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipping the Node client example: node is not installed")
	}
	// npm ci may download the packages the first time; later runs reuse
	// node_modules.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, &out, scriptDir())
	if errors.Is(err, errNoNode) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	card := regexp.MustCompile(`(?m)^card: "a2agrpc echo" 1\.0\.0 offers GRPC 127\.0\.0\.1:\d+, HTTP\+JSON http://127\.0\.0\.1:\d+, JSONRPC http://127\.0\.0\.1:\d+/jsonrpc$`)
	if !card.MatchString(got) {
		t.Errorf("no card line in:\n%s", got)
	}
	for _, b := range []string{"JSONRPC", "HTTP+JSON", "GRPC"} {
		tag := regexp.QuoteMeta("[" + b + "]")
		send := regexp.MustCompile(`(?m)^` + tag + ` send: task [0-9a-f-]{36} COMPLETED with artifact "hello from node over ` + regexp.QuoteMeta(b) + `"$`)
		if !send.MatchString(got) {
			t.Errorf("%s: no completed echo task in:\n%s", b, got)
		}
		// The echo agent streams its artifact in three chunks.
		stream := regexp.MustCompile(`(?m)^` + tag + ` stream: task\(WORKING\)( -> artifact\("[^"]*"\)){3} -> status\(COMPLETED\)$`)
		if !stream.MatchString(got) {
			t.Errorf("%s: stream is not task, three chunks, completion in:\n%s", b, got)
		}
		if want := fmt.Sprintf(`[%s] streamed artifact: "streamed to node over %s"`, b, b); !strings.Contains(got, want) {
			t.Errorf("%s: the chunks do not make up the echo %q in:\n%s", b, want, got)
		}
	}
}
