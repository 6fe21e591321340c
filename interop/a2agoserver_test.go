package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestA2AGoServer drives a2a-go v2.4.0's server (cmd/a2agoserver) with our
// own client (cmd/a2agrpcclient) over each of the three bindings. The
// client runs in a process of its own (it cannot share one with a2a-go);
// every check it reports goes through outcome as peer "a2a-go-server".
func TestA2AGoServer(t *testing.T) {
	base := startProcess(t, httpAddr, binary(t, "a2agoserver"))
	driver := binary(t, "a2agrpcclient")
	for _, binding := range bindings {
		t.Run(string(binding), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, driver, "-url", base, "-transport", string(binding))
			cmd.Stderr = os.Stderr
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("a2agrpcclient -transport %s: %v\n%s", binding, err, out)
			}
			var results []struct {
				Check  string `json:"check"`
				Result string `json:"result"`
			}
			if err := json.Unmarshal(bytes.TrimSpace(out), &results); err != nil || len(results) == 0 {
				t.Fatalf("a2agrpcclient printed %q: %v", out, err)
			}
			for _, r := range results {
				var failure error
				if r.Result != "ok" {
					failure = driverError(r.Result)
				}
				if outcome(t, "a2a-go-server", string(binding), r.Check, failure) {
					t.Logf("pass: a2a-go-server over %s: %s", binding, r.Check)
				}
			}
		})
	}
}

// driverError is a failure reported by a2agrpcclient.
type driverError string

func (e driverError) Error() string { return string(e) }
