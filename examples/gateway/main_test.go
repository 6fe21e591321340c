// Package gateway_test runs the curl walkthrough of run.sh.
package gateway_test

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
)

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// TestRunScript runs run.sh and checks what each curl call printed.
func TestRunScript(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("skipping the curl walkthrough: curl is not installed")
	}
	cmd := exec.Command("./run.sh")
	cmd.Env = append(cmd.Environ(), "GRPC_PORT="+freePort(t), "HTTP_PORT="+freePort(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{
		`"protocolBinding":"HTTP+JSON"`,  // the card names the gateway's interfaces
		`"state":"TASK_STATE_COMPLETED"`, // message:send
		`"text":"hello gateway"`,
		`"lastChunk":true`, // SSE artifact chunks
		`"jsonrpc":"2.0"`,
		`"reason":"TASK_NOT_FOUND"`,
		"HTTP 404",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "data: "); n != 5 {
		t.Errorf("%d SSE events, want 5:\n%s", n, s)
	}
}
