package interop

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestA2AJS drives our server with @a2a-js/sdk 1.3.0 (interop/js, installed
// from its lockfile) over each binding: send, stream, get, and the typed
// not-found error.
func TestA2AJS(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipping @a2a-js/sdk interop: node is not installed")
	}
	install := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = "js"
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	base := startServer(t)
	for _, binding := range []string{"JSONRPC", "HTTP+JSON", "GRPC"} {
		t.Run(binding, func(t *testing.T) {
			cmd := exec.Command("node", "smoke.mjs", base, binding)
			cmd.Dir = "js"
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node smoke.mjs: %v\n%s", err, out)
			}
			var res struct {
				SendState int      `json:"sendState"`
				TaskID    string   `json:"taskId"`
				Stream    []string `json:"stream"`
				GetID     string   `json:"getId"`
				NotFound  string   `json:"notFound"`
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatalf("output %s: %v", out, err)
			}
			const completed = 3 // TASK_STATE_COMPLETED in ts-proto's numeric enums
			if res.SendState != completed || res.TaskID == "" || res.GetID != res.TaskID {
				t.Errorf("send/get: %+v", res)
			}
			if strings.Join(res.Stream, " ") != "task artifactUpdate artifactUpdate artifactUpdate statusUpdate" {
				t.Errorf("stream: %v", res.Stream)
			}
			if !strings.HasSuffix(res.NotFound, "TaskNotFoundError") {
				t.Errorf("unknown task raised %q, want a TaskNotFoundError", res.NotFound)
			}
		})
	}
}
