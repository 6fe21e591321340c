package main

import (
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/server/admin"
)

// probe GETs url and returns the status and body.
func probe(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// pollProbe polls url until its answer has the status and contains want,
// and fails the test after 10 s.
func pollProbe(t *testing.T, url string, status int, want, why string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := probe(t, url)
		if code == status && strings.Contains(body, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s answers %d %q, want %d with %q", why, url, code, body, status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGatewayObservability runs the gateway with an admin listener and
// JSON logs in front of `serve` with API keys: /healthz and /readyz answer
// while the agent is up, /metrics counts the requests through the gateway
// (with the Go runtime's series), readiness turns off once the agent is
// gone and first thing at shutdown, while the gateway still serves for
// -shutdown-delay. The logs at the default level hold the failed requests
// (the check is not vacuous) but no credential or body.
func TestGatewayObservability(t *testing.T) {
	keyFile, apiKey := newAPIKey(t, t.TempDir(), "gateway-test")
	const (
		body     = "BODY-MARKER-do-not-log"
		wrongKey = "a2a_WRONG-KEY-do-not-log"
		bearer   = "BEARER-do-not-log"
	)
	lines, stopServe := serveInProcess(t, 1, "-grpc-addr", "127.0.0.1:0", "-http-addr", "", "-store", "memory", "-api-keys", keyFile)
	serveStopped := false
	t.Cleanup(func() {
		if !serveStopped {
			_ = stopServe()
		}
	})
	target := regexp.MustCompile(`on gRPC (\S+)`).FindStringSubmatch(lines[0])
	if target == nil {
		t.Fatalf("no gRPC address in %q", lines)
	}

	var logs syncBuffer
	glines, stop, wait := runInProcess(t, 2, &logs, "gateway", "-target", target[1], "-http-addr", "127.0.0.1:0",
		"-admin-addr", "127.0.0.1:0", "-log-format", "json", "-shutdown-delay", "1s", "-shutdown-timeout", "2s")
	url := regexp.MustCompile(`http://[0-9.:]+`).FindString(glines[0])
	adminURL := regexp.MustCompile(`http://[0-9.:]+$`).FindString(glines[1])
	if url == "" || adminURL == "" || !strings.Contains(glines[1], admin.ReadyzPath) {
		t.Fatalf("gateway printed %q", glines)
	}

	if code, body := probe(t, adminURL+admin.HealthzPath); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	pollProbe(t, adminURL+admin.ReadyzPath, http.StatusOK, "ok", "agent up")

	// Calls through the gateway: authorized ones on both bindings, an
	// unknown task, and refused credentials.
	callWithSecrets(t, url, []string{client.TransportREST, client.TransportJSONRPC},
		secretCalls{apiKey: apiKey, wrongKey: wrongKey, bearer: bearer, body: body})

	code, metrics := probe(t, adminURL+admin.MetricsPath)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	counted := func(handler, status string) bool {
		for _, line := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(line, "http_requests_total{") && strings.Contains(line, `handler="`+handler+`"`) &&
				strings.Contains(line, `code="`+status+`"`) && !strings.HasSuffix(line, " 0") {
				return true
			}
		}
		return false
	}
	for _, c := range [][2]string{{"rest", "200"}, {"rest", "401"}, {"rest", "404"}, {"jsonrpc", "200"}, {"card", "200"}} {
		if !counted(c[0], c[1]) {
			t.Errorf("/metrics counts no %s request answered %s:\n%s", c[0], c[1], metrics)
		}
	}
	if !strings.Contains(metrics, "\ngo_goroutines ") {
		t.Error("/metrics lacks the Go runtime's series")
	}

	// The agent goes away: the gateway is alive but not ready.
	serveStopped = true
	if err := stopServe(); err != nil {
		t.Fatal(err)
	}
	pollProbe(t, adminURL+admin.ReadyzPath, http.StatusServiceUnavailable, "not ready: agent at "+target[1], "agent stopped")
	if code, _ := probe(t, adminURL+admin.HealthzPath); code != http.StatusOK {
		t.Errorf("/healthz with the agent gone: %d, want 200 (alive)", code)
	}

	// Shutdown: readiness says so at once, and the gateway keeps serving
	// for the delay.
	stop()
	pollProbe(t, adminURL+admin.ReadyzPath, http.StatusServiceUnavailable, "not ready: shutting down", "shutdown begun")
	if code, _ := probe(t, url+client.WellKnownCardPath); code != http.StatusOK {
		t.Errorf("the card during -shutdown-delay: %d, want 200", code)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	failed, ok := loggedCalls(t, out, []string{apiKey, body, wrongKey, bearer})
	// The REST 404 and the two 401s; JSON-RPC answers its errors with
	// HTTP 200.
	if failed < 3 {
		t.Errorf("%d failed requests logged, want the refused and not-found ones:\n%s", failed, out)
	}
	if ok > 0 {
		t.Errorf("%d successful requests logged at level info, want none:\n%s", ok, out)
	}
}

// TestWithoutTraceContext: with tracing on, the gateway passes on every
// forwarded header but the trace context, whatever its case, and leaves
// the caller's list alone.
func TestWithoutTraceContext(t *testing.T) {
	in := []string{"Authorization", "TraceParent", "X-API-Key", "tracestate", "A2A-Trace"}
	got := withoutTraceContext(in)
	if want := []string{"Authorization", "X-API-Key", "A2A-Trace"}; !slices.Equal(got, want) {
		t.Errorf("withoutTraceContext(%q) = %q, want %q", in, got, want)
	}
	if in[1] != "TraceParent" || len(in) != 5 {
		t.Errorf("the input list changed: %q", in)
	}
}
