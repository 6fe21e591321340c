package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// testDelay keeps the tests fast while leaving the findings measurably
// apart in time.
const testDelay = 60 * time.Millisecond

// TestRun runs the example as main does and reads its output: the
// supervisor relays every finding as progress, in order, then prints a
// summary holding each of them and completes.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out bytes.Buffer
	const topic = "tidal power"
	if err := run(ctx, &out, topic, testDelay); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	found := findings(topic)
	pos := 0
	for i, f := range found {
		progress := fmt.Sprintf("WORKING   research: finding %d/%d: %s\n", i+1, len(found), f)
		at := strings.Index(got[pos:], progress)
		if at < 0 {
			t.Fatalf("progress %q missing or out of order in:\n%s", progress, got)
		}
		pos += at + len(progress)
	}
	summary := strings.Index(got, "artifact summary:")
	if summary < pos {
		t.Fatalf("no summary after the progress in:\n%s", got)
	}
	for i, f := range found {
		if line := fmt.Sprintf("    - finding %d/%d: %s\n", i+1, len(found), f); !strings.Contains(got[summary:], line) {
			t.Errorf("summary lacks %q:\n%s", line, got[summary:])
		}
	}
	if !strings.HasSuffix(got, "  COMPLETED\n") {
		t.Errorf("output does not end with the completion:\n%s", got)
	}
}

// TestSupervisor checks what a client of the supervisor receives over the
// gRPC and HTTP+JSON (SSE) bindings, and that the progress is live: the
// findings reach the client about as far apart as the research agent
// produced them, not in one batch at the end.
func TestSupervisor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tm, err := startTeam(ctx, testDelay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tm.shutdown(); err != nil {
			t.Error(err)
		}
	})
	for _, transport := range []string{client.TransportGRPC, client.TransportREST} {
		t.Run(transport, func(t *testing.T) {
			c, err := client.New(ctx, tm.supervisor.URL(), client.WithTransports(transport))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const topic = "quantum dots"
			w := &stampWriter{}
			rep, err := ask(ctx, c, topic, w)
			if err != nil {
				t.Fatal(err)
			}
			if rep.state != a2av1.TaskState_TASK_STATE_COMPLETED {
				t.Fatalf("supervisor task ended %s", rep.state)
			}
			found := findings(topic)
			want := []string{"asking the research agent about " + topic}
			for i, f := range found {
				want = append(want, fmt.Sprintf("research: finding %d/%d: %s", i+1, len(found), f))
			}
			if strings.Join(rep.progress, "\n") != strings.Join(want, "\n") {
				t.Errorf("progress:\n%s\nwant:\n%s", strings.Join(rep.progress, "\n"), strings.Join(want, "\n"))
			}
			for _, f := range found {
				if !strings.Contains(rep.summary, f) {
					t.Errorf("summary lacks %q:\n%s", f, rep.summary)
				}
			}
			first, last := w.when("finding 1/"), w.when(fmt.Sprintf("finding %d/", len(found)))
			if first.IsZero() || last.IsZero() {
				t.Fatalf("the first or last finding was never printed: %q", w.lines)
			}
			// Produced 3 delays apart; a batch would arrive within a
			// millisecond. One delay leaves room for a slow machine.
			if spread := last.Sub(first); spread < testDelay {
				t.Errorf("findings arrived within %v of each other: relayed in a batch, not live", spread)
			}
		})
	}
}

// stampWriter records when each line of output was written.
type stampWriter struct {
	mu    sync.Mutex
	lines []string
	times []time.Time
}

var _ io.Writer = (*stampWriter)(nil)

func (w *stampWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, string(p))
	w.times = append(w.times, time.Now())
	return len(p), nil
}

// when is the time of the first line containing s (zero if none does).
func (w *stampWriter) when(s string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, l := range w.lines {
		if strings.Contains(l, s) {
			return w.times[i]
		}
	}
	return time.Time{}
}
