package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// a2ajsChecks are the checks interop/js/drive.mjs runs per binding, in its
// order. A check missing from its output is a failure, and so is one this
// list does not know.
var a2ajsChecks = []string{
	"send",                   // blocking send: the completed echo task with its artifact
	"sendReturnImmediately",  // configuration.returnImmediately on a held task: a non-terminal task
	"stream",                 // task → artifactUpdate ×3 → statusUpdate(COMPLETED)
	"getHistory0",            // GetTask historyLength 0: no history
	"getHistory1",            // GetTask historyLength 1: one message
	"listTasksPaging",        // ListTasks pageSize 1, following nextPageToken to the end
	"cancel",                 // cancel a held task: CANCELED, and GetTask agrees
	"subscribeCancel",        // subscribe to a held task, cancel it: task first, ends CANCELED
	"pushConfigCreate",       // push notification config create …
	"pushConfigGet",          // … get …
	"pushConfigList",         // … list …
	"pushConfigDelete",       // … and delete (the list is empty afterwards)
	"getExtendedAgentCard",   // not declared by our card: UnsupportedOperationError
	"errorTaskNotFound",      // GetTask of an unknown id: TaskNotFoundError
	"errorTaskNotCancelable", // cancel a completed task: TaskNotCancelableError
	"errorSubscribeNotFound", // subscribe to an unknown id: TaskNotFoundError
	"errorSubscribeTerminal", // subscribe to a completed task: UnsupportedOperationError
}

// jsCheckResult is one entry of drive.mjs's output line.
type jsCheckResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// TestA2AJS drives our server with @a2a-js/sdk 1.3.0 (interop/js, installed
// from its lockfile) over each binding through every operation its Client
// offers, and reports each check through outcome.
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
			results, err := runJSDrive(base, binding)
			if err != nil {
				t.Errorf("%v", err) // and every check below fails with it
			}
			for _, check := range a2ajsChecks {
				if outcome(t, "a2a-js", binding, check, jsCheckFailure(results, check, err)) {
					t.Logf("pass: a2a-js over %s: %s", binding, check)
				}
			}
			var unknown []string
			for check := range results {
				if !slices.Contains(a2ajsChecks, check) {
					unknown = append(unknown, check)
				}
			}
			if len(unknown) > 0 {
				slices.Sort(unknown)
				t.Errorf("drive.mjs ran checks a2ajsChecks does not list: %s", strings.Join(unknown, ", "))
			}
		})
	}
}

// runJSDrive runs drive.mjs against base over one binding and decodes its
// last output line.
func runJSDrive(base, binding string) (map[string]jsCheckResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "drive.mjs", base, binding)
	cmd.Dir = "js"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("node drive.mjs: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var results map[string]jsCheckResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &results); err != nil {
		return nil, fmt.Errorf("node drive.mjs output: %v\n%s", err, out)
	}
	return results, nil
}

// jsCheckFailure is the error one check reports, nil when it passed.
func jsCheckFailure(results map[string]jsCheckResult, check string, runErr error) error {
	if runErr != nil {
		return errors.New("drive.mjs produced no results")
	}
	r, ok := results[check]
	switch {
	case !ok:
		return errors.New("check missing from drive.mjs output")
	case !r.OK && r.Error == "":
		return errors.New("failed without an error message")
	case !r.OK:
		return errors.New(r.Error)
	}
	return nil
}
