// Package deploy_test checks the deployment files of the repository — the
// Dockerfile, the Kubernetes manifests under deploy/kubernetes and the
// docker-compose.yml demo — against the a2agrpc binary they run.
//
// Statically: every flag and A2AGRPC_* variable they set is one the
// subcommand accepts (read from "a2agrpc SUBCOMMAND -h" of a binary built
// from ../cmd/a2agrpc), container ports are the listen ports, probes point
// at the admin listener, and the cross-references (Services, the
// autoscaler, Secrets, dependencies) agree. At run time: the binary,
// started with each file's arguments and environment (listen addresses
// moved to free loopback ports, the store to an SQLite file in a temporary
// directory, since there is no cluster, registry or database here),
// answers the probes the files declare and shuts down on SIGTERM as they
// expect. Images are not built: docker is not assumed.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// What the binary serves on its admin listener (-admin-addr).
const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
	metricsPath = "/metrics"
	cardPath    = "/.well-known/agent-card.json"
)

// readyzStorePing bounds how long /readyz pings an external store
// (pingTimeout in server/host).
const readyzStorePing = 2 * time.Second

// testShutdownDelay replaces the files' -shutdown-delay in the run-time
// checks: long enough to watch /readyz fail while the server still serves.
const testShutdownDelay = 2 * time.Second

// The binary, built once for every test of the package into a directory
// TestMain removes.
var build struct {
	once     sync.Once
	dir, bin string
	err      error
	mu       sync.Mutex
	help     map[string]flagSet // by subcommand
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// a2agrpcBinary builds ../cmd/a2agrpc as the Dockerfile does (static, no
// cgo) and returns its path.
func a2agrpcBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		if build.dir, build.err = os.MkdirTemp("", "a2agrpc-deploy-"); build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "a2agrpc")
		cmd := exec.Command("go", "build", "-trimpath", "-o", build.bin, "../cmd/a2agrpc")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("CGO_ENABLED=0 go build ../cmd/a2agrpc (as the Dockerfile builds it): %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// flagInfo is one flag of a subcommand, as its -h output shows it.
type flagInfo struct {
	isBool bool   // takes no value ("-flag" alone means true)
	def    string // the default, "" when the zero value
}

type flagSet map[string]flagInfo

var (
	// "  -name type\tusage" or "  -name\n    \tusage" (flag.PrintDefaults).
	helpFlagLine = regexp.MustCompile(`^  -([^\s=]+)(?: ([^\t]+?))?(?:\t(.*))?$`)
	helpDefault  = regexp.MustCompile(`\(default (.+)\)$`)
)

// knownFlags returns the flags "a2agrpc sub" accepts, from its -h output.
func knownFlags(t *testing.T, sub string) flagSet {
	t.Helper()
	bin := a2agrpcBinary(t)
	build.mu.Lock()
	defer build.mu.Unlock()
	if fs, ok := build.help[sub]; ok {
		return fs
	}
	out, _ := exec.Command(bin, sub, "-h").CombinedOutput() // -h exits 2 and prints to stderr
	if strings.Contains(string(out), "unknown command") {
		t.Fatalf("%q is not an a2agrpc subcommand:\n%s", sub, out)
	}
	fs := parseHelp(string(out))
	if len(fs) == 0 {
		t.Fatalf("a2agrpc %s -h listed no flags:\n%s", sub, out)
	}
	if build.help == nil {
		build.help = map[string]flagSet{}
	}
	build.help[sub] = fs
	return fs
}

func parseHelp(out string) flagSet {
	fs := flagSet{}
	var name string
	var usage strings.Builder
	flush := func() {
		if name == "" {
			return
		}
		info := fs[name]
		if m := helpDefault.FindStringSubmatch(strings.TrimSpace(usage.String())); m != nil {
			info.def = m[1]
			if s, err := strconv.Unquote(m[1]); err == nil {
				info.def = s
			}
		}
		fs[name] = info
	}
	for line := range strings.SplitSeq(out, "\n") {
		if m := helpFlagLine.FindStringSubmatch(line); m != nil {
			flush()
			name = m[1]
			usage.Reset()
			usage.WriteString(m[3])
			fs[name] = flagInfo{isBool: m[2] == ""}
			continue
		}
		if name != "" && strings.HasPrefix(line, "    \t") {
			usage.WriteString(" " + strings.TrimSpace(line))
		}
	}
	flush()
	return fs
}

// flagEnv is the variable that sets a flag (flagsFromEnv in cmd/a2agrpc).
func flagEnv(name string) string {
	return "A2AGRPC_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// invocation is one way a file runs the binary.
type invocation struct {
	args []string          // the binary's arguments, subcommand first
	env  map[string]string // its environment, resolved for a local run
}

// config is what an invocation sets, as the binary reads it: defaults,
// then A2AGRPC_* variables, then the command line.
type config struct {
	sub    string
	known  flagSet
	values map[string]string // every known flag
	set    map[string]bool   // set by the environment or the arguments
}

// configOf reads an invocation like the binary does; the errors name every
// argument or variable it would reject or ignore.
func configOf(t *testing.T, inv invocation) (config, []error) {
	t.Helper()
	if len(inv.args) == 0 || strings.HasPrefix(inv.args[0], "-") {
		t.Fatalf("arguments %q: want a subcommand first (serve, gateway, ...)", inv.args)
	}
	c := config{sub: inv.args[0], known: knownFlags(t, inv.args[0]), values: map[string]string{}, set: map[string]bool{}}
	for name, info := range c.known {
		c.values[name] = info.def
	}
	var errs []error
	byEnv := map[string]string{}
	for name := range c.known {
		byEnv[flagEnv(name)] = name
	}
	for _, k := range slices.Sorted(maps.Keys(inv.env)) {
		if !strings.HasPrefix(k, "A2AGRPC_") {
			continue
		}
		name, ok := byEnv[k]
		if !ok {
			errs = append(errs, fmt.Errorf("environment variable %s sets no flag of \"a2agrpc %s\" (A2AGRPC_<FLAG>, upper case, - as _)", k, c.sub))
			continue
		}
		c.values[name], c.set[name] = inv.env[k], true
	}
	args := inv.args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			errs = append(errs, fmt.Errorf("arguments %q: \"a2agrpc %s\" takes no positional arguments, and every flag after one is ignored", args[i:], c.sub))
			break
		}
		body := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, val, hasVal := strings.Cut(body, "=")
		info, ok := c.known[name]
		if !ok {
			errs = append(errs, fmt.Errorf("argument %q: \"a2agrpc %s\" has no flag -%s (see a2agrpc %s -h)", a, c.sub, name, c.sub))
			continue
		}
		if !hasVal {
			switch {
			case info.isBool:
				val = "true"
			case i+1 < len(args):
				i++
				val = args[i]
			default:
				errs = append(errs, fmt.Errorf("argument %q: -%s needs a value", a, name))
				continue
			}
		}
		c.values[name], c.set[name] = val, true
	}
	return c, errs
}

// duration is a duration flag's value (0 when unset).
func (c config) duration(t *testing.T, name string) time.Duration {
	t.Helper()
	v := c.values[name]
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Errorf("-%s=%q: %v", name, v, err)
	}
	return d
}

// listenFlags are the flags naming a listen address, in the order they are
// reported.
var listenFlags = []string{"grpc-addr", "http-addr", "admin-addr", "addr", "one-port", "pprof"}

// listeners returns the listen flags in use and their addresses.
func (c config) listeners() map[string]string {
	l := map[string]string{}
	for _, f := range listenFlags {
		if _, ok := c.known[f]; ok && c.values[f] != "" && c.values[f] != "-" {
			l[f] = c.values[f]
		}
	}
	if l["addr"] != "" || l["one-port"] != "" { // one port instead of the two
		delete(l, "grpc-addr")
		delete(l, "http-addr")
	}
	return l
}

// listenPorts maps each listen port to its flag; errors for addresses
// that are not host:port, or that only loopback can reach (probes,
// Services and published ports come from outside the container).
func (c config) listenPorts() (map[int]string, []error) {
	ports := map[int]string{}
	var errs []error
	for _, f := range listenFlags {
		addr, ok := c.listeners()[f]
		if !ok {
			continue
		}
		host, port, err := splitHostPort(addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("-%s=%q: %v", f, addr, err))
			continue
		}
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			errs = append(errs, fmt.Errorf("-%s=%q listens on loopback only: unreachable from outside the container; use 0.0.0.0:%d", f, addr, port))
		}
		if other, dup := ports[port]; dup {
			errs = append(errs, fmt.Errorf("-%s and -%s both listen on port %d", other, f, port))
		}
		ports[port] = f
	}
	return ports, errs
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a fixed port number", p)
	}
	return host, port, nil
}

// portName is the name a container port of each listener should carry.
var portName = map[string]string{
	"grpc-addr": "grpc", "http-addr": "http", "admin-addr": "admin", "addr": "grpc", "one-port": "grpc", "pprof": "pprof",
}

func reportAll(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		t.Error(err)
	}
}

// otelEnv are the OpenTelemetry SDK variables the binary may read.
var otelEnv = []string{
	"OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_PROPAGATORS",
	"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
	"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
}

// otelEnvErrors reports OTEL_* variables that are not standard SDK
// settings (a typo is silently ignored by the SDK).
func otelEnvErrors(env map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if strings.HasPrefix(k, "OTEL_") && !slices.Contains(otelEnv, k) {
			errs = append(errs, fmt.Errorf("environment variable %s is not an OpenTelemetry SDK setting this test knows (see otelEnv)", k))
		}
	}
	return errs
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is the binary running on loopback ports.
type process struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{} // closed when it has exited
	local          map[int]int   // listen port of the file → loopback port it got
}

// start runs inv on 127.0.0.1: every listener of cfg moved to a free port
// (local maps the file's ports to them), the store (if the subcommand has
// one) to an SQLite file in a temporary directory, then extra arguments.
// Overrides are appended: the file's own values are still parsed, and the
// last value of a flag wins.
func start(t *testing.T, name string, inv invocation, cfg config, extra ...string) *process {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("runs the server and signals it: POSIX only")
	}
	bin := a2agrpcBinary(t)
	dir := t.TempDir()
	p := &process{name: name, done: make(chan struct{}), local: map[int]int{}}
	args := slices.Clone(inv.args)
	ls := cfg.listeners()
	for _, f := range listenFlags {
		addr, ok := ls[f]
		if !ok {
			continue
		}
		_, port, err := splitHostPort(addr)
		if err != nil {
			t.Fatalf("%s: -%s=%q: %v", name, f, addr, err)
		}
		p.local[port] = freePort(t)
		args = append(args, fmt.Sprintf("-%s=127.0.0.1:%d", f, p.local[port]))
	}
	env := maps.Clone(inv.env)
	if _, ok := cfg.known["store"]; ok {
		store := "sqlite:" + filepath.Join(dir, "a2agrpc.db")
		args = append(args, "-store="+store)
		if _, ok := env["A2AGRPC_STORE"]; ok {
			env["A2AGRPC_STORE"] = store
		}
	}
	args = append(args, extra...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		p.cmd.Env = append(p.cmd.Env, k+"="+env[k])
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Logf("%s: pid %d: a2agrpc %s", name, p.cmd.Process.Pid, strings.Join(args, " "))
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
		}
		<-p.done
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) logs() string {
	return fmt.Sprintf("--- %s stdout:\n%s--- %s stderr:\n%s", p.name, p.stdout.String(), p.name, p.stderr.String())
}

// url is http://127.0.0.1:<where the file's port went><path>.
func (p *process) url(t *testing.T, port int, path string) string {
	t.Helper()
	lp, ok := p.local[port]
	if !ok {
		t.Fatalf("%s: nothing listens on port %d (listeners: %v)", p.name, port, p.local)
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", lp, path)
}

// waitStatus polls url until it answers want; it fails the test when the
// process exits or the time is up.
func (p *process) waitStatus(t *testing.T, url string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		code, body, err := httpGet(url)
		if err == nil && code == want {
			return
		}
		last = fmt.Sprint(code, " ", strings.TrimSpace(body))
		if err != nil {
			last = err.Error()
		}
		if p.exited() {
			t.Fatalf("%s exited (%v) before GET %s answered %d (last: %s)\n%s", p.name, p.cmd.ProcessState, url, want, last, p.logs())
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no %d within %v (last: %s)\n%s", url, want, within, last, p.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkShutdown sends SIGTERM and checks the contract of -shutdown-delay
// (here testShutdownDelay): /readyz answers 503 at once while the server
// still serves (liveness and the Agent Card), the process stays up for the
// delay, then exits 0 within delay + drain timeout.
func (p *process) checkShutdown(t *testing.T, readyURL, liveURL, serviceURL string, drain time.Duration) {
	t.Helper()
	if code, _, err := httpGet(readyURL); err != nil || code != http.StatusOK {
		t.Fatalf("before SIGTERM: GET %s = %d, %v; want 200\n%s", readyURL, code, err, p.logs())
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var notReady, exitedAt time.Duration
	for time.Since(sent) < testShutdownDelay {
		if p.exited() {
			exitedAt = time.Since(sent)
			break
		}
		if code, _, err := httpGet(readyURL); err == nil && code == http.StatusServiceUnavailable {
			notReady = time.Since(sent)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	switch {
	case exitedAt > 0:
		t.Fatalf("the process exited %v after SIGTERM (%v): want it to serve, with /readyz 503, for -shutdown-delay=%v\n%s",
			exitedAt, p.cmd.ProcessState, testShutdownDelay, p.logs())
	case notReady == 0:
		t.Errorf("GET %s did not answer 503 within -shutdown-delay=%v of SIGTERM: load balancers would keep sending traffic", readyURL, testShutdownDelay)
	default:
		if notReady > time.Second {
			t.Errorf("/readyz turned 503 %v after SIGTERM: want at once", notReady)
		}
		for _, u := range []string{liveURL, serviceURL} {
			if code, body, err := httpGet(u); err != nil || code != http.StatusOK {
				t.Errorf("during -shutdown-delay: GET %s = %d %.200s, %v; want 200: the server must keep serving until the delay ends", u, code, body, err)
			}
		}
	}
	limit := testShutdownDelay + drain + 5*time.Second
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("still running %v after SIGTERM (-shutdown-delay=%v, -shutdown-timeout=%v)\n%s", limit, testShutdownDelay, drain, p.logs())
	}
	took := time.Since(sent)
	if took < testShutdownDelay-100*time.Millisecond {
		t.Errorf("exited %v after SIGTERM: before -shutdown-delay=%v ended", took, testShutdownDelay)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM: want 0 (a graceful stop)\n%s", code, p.logs())
	}
}

// checkJSONLogs fails unless every line on stderr is a JSON object.
func (p *process) checkJSONLogs(t *testing.T) {
	t.Helper()
	for line := range strings.SplitSeq(p.stderr.String(), "\n") {
		if line = strings.TrimSpace(line); line != "" && !(strings.HasPrefix(line, "{") && json.Valid([]byte(line))) {
			t.Errorf("-log-format=json, but this stderr line is not a JSON object: %s", line)
		}
	}
}

var httpClient = &http.Client{
	Timeout:   3 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
}

func httpGet(url string) (int, string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// checkMetrics fails unless url serves Prometheus metrics (text format).
func checkMetrics(t *testing.T, url string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/plain") || !bytes.Contains(b, []byte("# TYPE ")) {
		t.Errorf("GET %s = %d, Content-Type %q, body %.300q: want 200 with Prometheus text exposition (text/plain, # TYPE lines)", url, resp.StatusCode, ct, b)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runUntilOK runs a command (a healthcheck) until it exits 0.
func runUntilOK(t *testing.T, within time.Duration, name string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		cmd := exec.Command(name, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
