package admin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a2agrpc/a2agrpc/server/admin"
)

// serve runs h on a loopback port until the test ends and returns its
// base URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + lis.Addr().String()
}

// get fetches url with an optional Accept header and returns the status,
// the content type and the body.
func get(t *testing.T, method, url, accept string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// TestProbes: liveness always answers; readiness follows the ready
// function from one request to the next and names its reason when it
// fails; the probe's own context reaches the function.
func TestProbes(t *testing.T) {
	var failure atomic.Pointer[error]
	var cancelable atomic.Bool
	ready := func(ctx context.Context) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cancelable.Store(ctx.Done() != nil)
		if p := failure.Load(); p != nil {
			return *p
		}
		return nil
	}
	base := serve(t, admin.Handler(ready, nil))

	if code, ctype, body := get(t, http.MethodGet, base+admin.HealthzPath, ""); code != http.StatusOK || body != "ok\n" || !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("healthz: %d %q %q", code, ctype, body)
	}
	if code, _, body := get(t, http.MethodGet, base+admin.ReadyzPath, ""); code != http.StatusOK || body != "ok\n" {
		t.Errorf("readyz while ready: %d %q", code, body)
	}
	if !cancelable.Load() {
		t.Error("the ready function did not get the request's context")
	}

	down := errors.New("task store: connection refused")
	failure.Store(&down)
	if code, _, body := get(t, http.MethodGet, base+admin.ReadyzPath, ""); code != http.StatusServiceUnavailable || body != "not ready: task store: connection refused\n" {
		t.Errorf("readyz while not ready: %d %q", code, body)
	}
	if code, _, _ := get(t, http.MethodGet, base+admin.HealthzPath, ""); code != http.StatusOK {
		t.Errorf("healthz while not ready: %d, want 200 (alive)", code)
	}
	failure.Store(nil)
	if code, _, _ := get(t, http.MethodGet, base+admin.ReadyzPath, ""); code != http.StatusOK {
		t.Errorf("readyz after recovery: %d", code)
	}

	// Probes that use HEAD get the status without a body; other methods
	// are refused.
	if code, _, body := get(t, http.MethodHead, base+admin.ReadyzPath, ""); code != http.StatusOK || body != "" {
		t.Errorf("HEAD readyz: %d %q", code, body)
	}
	if code, _, _ := get(t, http.MethodPost, base+admin.ReadyzPath, ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST readyz: %d, want 405", code)
	}
	// Without a registry there is no metrics endpoint.
	if code, _, _ := get(t, http.MethodGet, base+admin.MetricsPath, ""); code != http.StatusNotFound {
		t.Errorf("metrics without a registry: %d, want 404", code)
	}
}

// TestNilReady: without a ready function the process is always ready.
func TestNilReady(t *testing.T) {
	base := serve(t, admin.Handler(nil, nil))
	if code, _, body := get(t, http.MethodGet, base+admin.ReadyzPath, ""); code != http.StatusOK || body != "ok\n" {
		t.Errorf("readyz: %d %q", code, body)
	}
}

// TestMetrics: the registry's series are exposed in the Prometheus text
// format by default and in OpenMetrics when asked, and the handler counts
// its own errors in the same registry.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	calls := prometheus.NewCounter(prometheus.CounterOpts{Name: "admin_test_calls_total", Help: "Calls made by the test."})
	reg.MustRegister(calls)
	calls.Add(3)
	base := serve(t, admin.Handler(nil, reg))

	code, ctype, body := get(t, http.MethodGet, base+admin.MetricsPath, "")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("metrics: %d %q", code, ctype)
	}
	for _, want := range []string{"admin_test_calls_total 3", `promhttp_metric_handler_errors_total{cause="gathering"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}

	code, ctype, body = get(t, http.MethodGet, base+admin.MetricsPath, "application/openmetrics-text; version=1.0.0")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "application/openmetrics-text") {
		t.Fatalf("metrics as OpenMetrics: %d %q", code, ctype)
	}
	if !strings.Contains(body, "admin_test_calls_total 3") || !strings.HasSuffix(body, "# EOF\n") {
		t.Errorf("OpenMetrics body:\n%s", body)
	}
	calls.Inc()
	if _, _, body := get(t, http.MethodGet, base+admin.MetricsPath, ""); !strings.Contains(body, "admin_test_calls_total 4") {
		t.Errorf("metrics do not move:\n%s", body)
	}
}
