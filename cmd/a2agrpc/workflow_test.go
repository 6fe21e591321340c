package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
)

// workflowAgent serves exec on loopback for the test and returns its URL.
func workflowAgent(t *testing.T, exec server.ExecutorFunc) string {
	t.Helper()
	a, err := host.Start(exec, host.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return a.URL()
}

// writeFile writes a file in the test's directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestWorkflowCommand runs `a2agrpc workflow run` and `check` against real
// agents: progress lines and outputs, -json, and the exit codes of a
// failed step, an unreachable agent, a bad file and a bad command line.
func TestWorkflowCommand(t *testing.T) {
	upper := workflowAgent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		if err := w.Working("shouting"); err != nil {
			return err
		}
		if strings.Contains(req.Text(), "fail") {
			return errors.New("cannot shout that")
		}
		return w.Artifact(server.TextArtifact("loud", strings.ToUpper(req.Text())))
	})
	count := workflowAgent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		part, err := server.DataPart(map[string]any{"chars": len(req.Text())})
		if err != nil {
			return err
		}
		return w.Reply(part)
	})
	flow := fmt.Sprintf(`name: shout-and-count
steps:
  - id: shout
    agent: %s
    input: "${input.text}"
  - id: count
    agent: %s
    depends_on: [shout]
    input: {text: "${steps.shout.output.text}"}
output:
  loud: "${steps.shout.output.text}"
  chars: "${steps.count.output.data.chars}"
`, upper, count)
	ok := writeFile(t, "flow.yaml", flow)

	t.Run("run", func(t *testing.T) {
		out, code := cli(t, "workflow", "run", "-input", `{"text": "hello"}`, ok)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^ +[0-9.]+s  shout +pending`),
			regexp.MustCompile(`(?m)^ +[0-9.]+s  shout +running +attempt 1$`),
			regexp.MustCompile(`(?m)^ +[0-9.]+s  shout +running +task [0-9a-f-]{36} WORKING shouting$`),
			regexp.MustCompile(`(?m)^ +[0-9.]+s  shout +progress +artifact loud: HELLO$`),
			regexp.MustCompile(`(?m)^ +[0-9.]+s  count +completed +replied with a message$`),
			regexp.MustCompile(`(?m)^workflow shout-and-count completed in [0-9.]+s\noutputs:\n  chars: 5\n  loud: HELLO\n$`),
		} {
			if !want.MatchString(out) {
				t.Errorf("output lacks %s:\n%s", want, out)
			}
		}
	})
	t.Run("json_and_input_file", func(t *testing.T) {
		in := writeFile(t, "input.json", `{"text": "json"}`)
		out, code := cli(t, "workflow", "run", "-json", "-input-file", in, ok)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		types := map[string]bool{}
		for _, l := range lines[:len(lines)-1] {
			var ev struct{ Type, Step string }
			if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Step == "" {
				t.Fatalf("event line %q: %v", l, err)
			}
			types[ev.Type] = true
		}
		for _, typ := range []string{"pending", "running", "progress", "completed"} {
			if !types[typ] {
				t.Errorf("no %s event in:\n%s", typ, out)
			}
		}
		var res struct {
			Status  string
			Outputs map[string]any
			Steps   map[string]struct{ Status string }
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
			t.Fatal(err)
		}
		if res.Status != "completed" || res.Outputs["loud"] != "JSON" || res.Outputs["chars"] != 4.0 || res.Steps["count"].Status != "completed" {
			t.Errorf("result line: %s", lines[len(lines)-1])
		}
	})
	t.Run("failed_step_exits_1", func(t *testing.T) {
		out, code := cli(t, "workflow", "run", "-input", `{"text": "please fail"}`, ok)
		if code != exitFailure || !strings.Contains(out, `step "shout": task `) || !strings.Contains(out, "ended FAILED") {
			t.Errorf("exit %d:\n%s", code, out)
		}
		if !regexp.MustCompile(`(?m)^  count +skipped`).MatchString(out) {
			t.Errorf("no summary showing count skipped:\n%s", out)
		}
	})
	t.Run("unreachable_agent_exits_3", func(t *testing.T) {
		f := writeFile(t, "gone.yaml", "name: gone\nsteps:\n  - {id: s, agent: \"http://127.0.0.1:1\", input: hi}\n")
		if out, code := cli(t, "workflow", "run", f); code != exitUnreachable || !strings.Contains(out, `step "s"`) {
			t.Errorf("exit %d, want %d:\n%s", code, exitUnreachable, out)
		}
	})
	t.Run("bad_file_exits_2", func(t *testing.T) {
		f := writeFile(t, "bad.yaml", "name: bad\nsteps:\n  - id: a\n    agent: http://x\n    input: hi\n    depends_on: [b]\n")
		for _, sub := range []string{"run", "check"} {
			out, code := cli(t, "workflow", sub, f)
			if code != exitUsage || !strings.Contains(out, f+`:6:18: steps[0].depends_on[0] (step "a"): unknown step "b"`) {
				t.Errorf("%s: exit %d:\n%s", sub, code, out)
			}
		}
	})
	t.Run("check", func(t *testing.T) {
		out, code := cli(t, "workflow", "check", "../../workflow/testdata/document-pipeline.yaml")
		want := "is valid: 4 steps\n  1. extract\n  2. sentiment, summarize\n  3. report\n"
		if code != 0 || !strings.HasSuffix(out, want) {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("capability_needs_registry", func(t *testing.T) {
		f := writeFile(t, "cap.yaml", "name: cap\nsteps:\n  - {id: s, capability: {skill_id: x}, input: hi}\n")
		if out, code := cli(t, "workflow", "run", f); code != exitUsage || !strings.Contains(out, "give -registry ADDR") {
			t.Errorf("without -registry: exit %d:\n%s", code, out)
		}
		if out, code := cli(t, "workflow", "run", "-registry", "127.0.0.1:1", f); code == 0 || !strings.Contains(out, "registry 127.0.0.1:1") {
			t.Errorf("with an unreachable -registry: exit %d:\n%s", code, out)
		}
	})
	t.Run("bad_command_lines_exit_2", func(t *testing.T) {
		for _, args := range [][]string{
			{"workflow"},
			{"workflow", "frobnicate"},
			{"workflow", "run"},
			{"workflow", "run", "-input", "{not json", ok},
			{"workflow", "run", "-input", "{}", "-input-file", "x.json", ok},
			{"workflow", "run", "-transport", "pigeon", ok},
			{"workflow", "check", ok, ok},
		} {
			if out, code := cli(t, args...); code != exitUsage {
				t.Errorf("%q: exit %d, want %d:\n%s", args, code, exitUsage, out)
			}
		}
	})
}
