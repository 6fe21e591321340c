package deploy_test

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const composeFile = "../docker-compose.yml"

// compose is the part of the Compose specification the demo uses; an
// unknown key fails the strict decoding (extend these types with it).
type compose struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	Networks map[string]any            `yaml:"networks"`
	Ext      map[string]any            `yaml:",inline"` // x-* extension fields (anchors)
}

type composeService struct {
	Build           any                        `yaml:"build"` // a context path, or {context, dockerfile, ...}
	Image           string                     `yaml:"image"`
	User            string                     `yaml:"user"`
	ReadOnly        bool                       `yaml:"read_only"`
	Tmpfs           []string                   `yaml:"tmpfs"`
	CapDrop         []string                   `yaml:"cap_drop"`
	SecurityOpt     []string                   `yaml:"security_opt"`
	Restart         string                     `yaml:"restart"`
	StopGracePeriod string                     `yaml:"stop_grace_period"`
	Entrypoint      []string                   `yaml:"entrypoint"`
	Command         []string                   `yaml:"command"`     // the list form: no shell-like splitting
	Environment     map[string]string          `yaml:"environment"` // the map form
	Ports           []string                   `yaml:"ports"`
	Volumes         []string                   `yaml:"volumes"`
	Healthcheck     *composeHealthcheck        `yaml:"healthcheck"`
	DependsOn       map[string]composeDepends  `yaml:"depends_on"` // the long form, with conditions
	Networks        map[string]*composeNetwork `yaml:"networks"`
}

type composeHealthcheck struct {
	Test          []string `yaml:"test"`
	Interval      string   `yaml:"interval"`
	Timeout       string   `yaml:"timeout"`
	Retries       int      `yaml:"retries"`
	StartPeriod   string   `yaml:"start_period"`
	StartInterval string   `yaml:"start_interval"`
	Disable       bool     `yaml:"disable"`
}

type composeDepends struct {
	Condition string `yaml:"condition"`
	Restart   bool   `yaml:"restart"`
	Required  *bool  `yaml:"required"`
}

type composeNetwork struct {
	Aliases []string `yaml:"aliases"`
}

func loadCompose(t *testing.T) *compose {
	t.Helper()
	raw, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c compose
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v (lists and maps in the forms type compose declares; extend it for more)", err)
	}
	for k := range c.Ext {
		if !strings.HasPrefix(k, "x-") {
			t.Errorf("docker-compose.yml: top-level key %q is not part of the Compose specification (extensions start with x-)", k)
		}
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml: no services")
	}
	return &c
}

// buildsRepo reports a service built from this repository's Dockerfile.
func (s composeService) buildsRepo() bool {
	switch b := s.Build.(type) {
	case string:
		return b == "." || b == "./"
	case map[string]any:
		ctx, _ := b["context"].(string)
		df, _ := b["dockerfile"].(string)
		return (ctx == "." || ctx == "./") && (df == "" || df == "Dockerfile")
	}
	return false
}

// composePort is one "HOST_IP:HOST_PORT:CONTAINER_PORT" mapping.
type composePort struct {
	hostIP          string
	host, container int
}

func parsePort(spec string) (composePort, error) {
	spec = strings.TrimSuffix(spec, "/tcp")
	parts := strings.Split(spec, ":")
	var p composePort
	var err error
	if len(parts) != 3 {
		return p, fmt.Errorf("ports %q: want HOST_IP:HOST_PORT:CONTAINER_PORT (publish on 127.0.0.1 only)", spec)
	}
	p.hostIP = parts[0]
	if p.host, err = strconv.Atoi(parts[1]); err != nil {
		return p, fmt.Errorf("ports %q: host port %q", spec, parts[1])
	}
	if p.container, err = strconv.Atoi(parts[2]); err != nil {
		return p, fmt.Errorf("ports %q: container port %q", spec, parts[2])
	}
	return p, nil
}

func TestCompose(t *testing.T) {
	c := loadCompose(t)
	img := dockerImage(t)

	// The a2agrpc services: the image of ./Dockerfile.
	images := map[string]bool{}
	for _, s := range c.Services {
		if s.buildsRepo() && s.Image != "" {
			images[s.Image] = true
		}
	}
	var names []string
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		if s := c.Services[name]; s.buildsRepo() || images[s.Image] {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		t.Fatal("no service builds ./Dockerfile")
	}
	inv := func(s composeService) invocation {
		args := s.Command
		if len(args) == 0 {
			args = img.cmd
		}
		return invocation{args: args, env: s.Environment}
	}
	var serves []string
	for _, name := range names {
		if len(c.Services[name].Command) > 0 && c.Services[name].Command[0] == "serve" {
			serves = append(serves, name)
		}
	}

	for _, name := range names {
		s := c.Services[name]
		t.Run("service "+name, func(t *testing.T) {
			cfg, cfgErrs := configOf(t, inv(s))
			ports, portErrs := cfg.listenPorts()
			published := map[int]composePort{} // by container port
			var pubErrs []error
			for _, spec := range s.Ports {
				p, err := parsePort(spec)
				if err != nil {
					pubErrs = append(pubErrs, err)
					continue
				}
				published[p.container] = p
			}

			t.Run("command and environment are flags of the subcommand", func(t *testing.T) {
				if len(s.Entrypoint) > 0 && !slices.Equal(s.Entrypoint, img.entrypoint) {
					t.Errorf("entrypoint %q replaces the image's %q", s.Entrypoint, img.entrypoint)
				}
				reportAll(t, cfgErrs)
				reportAll(t, otelEnvErrors(s.Environment))
			})

			t.Run("published ports are the listen ports", func(t *testing.T) {
				reportAll(t, portErrs)
				reportAll(t, pubErrs)
				for cp, p := range published {
					if _, ok := ports[cp]; !ok {
						t.Errorf("publishes container port %d, where nothing listens (listeners: %v)", cp, cfg.listeners())
					}
					if p.hostIP != "127.0.0.1" {
						t.Errorf("publishes %d on %q: a demo should listen on 127.0.0.1 only", p.host, p.hostIP)
					}
				}
				for port, flag := range ports {
					if _, ok := published[port]; !ok {
						t.Errorf("-%s listens on %d, which is not published", flag, port)
					}
				}
			})

			t.Run("Agent Card advertises the published addresses", func(t *testing.T) {
				for _, a := range []struct{ flag, listener string }{{"advertise", "grpc-addr"}, {"advertise-http", "http-addr"}} {
					if _, ok := cfg.known[a.flag]; !ok {
						continue
					}
					v := cfg.values[a.flag]
					hostport := v
					if a.flag == "advertise-http" {
						u, err := url.Parse(v)
						if v == "" || err != nil || u.Scheme != "http" {
							t.Errorf("-%s=%q: want http://127.0.0.1:<published port>: the default names the container's address, which the host cannot reach", a.flag, v)
							continue
						}
						hostport = u.Host
					}
					host, port, err := net.SplitHostPort(hostport)
					if err != nil {
						t.Errorf("-%s=%q: want 127.0.0.1:<published port>: the default names the container's address, which the host cannot reach", a.flag, v)
						continue
					}
					p, ok := published[portOf(ports, a.listener)]
					switch {
					case !ok:
						t.Errorf("-%s=%q, but -%s is not published", a.flag, v, a.listener)
					case strconv.Itoa(p.host) != port || (host != p.hostIP && host != "localhost"):
						t.Errorf("-%s=%q, but -%s (container port %d) is published as %s:%d", a.flag, v, a.listener, p.container, p.hostIP, p.host)
					}
				}
			})

			t.Run("healthcheck runs the binary against its own listener", func(t *testing.T) {
				h := s.Healthcheck
				if h == nil || h.Disable || len(h.Test) < 3 || h.Test[0] != "CMD" {
					t.Fatalf("healthcheck %+v: want [CMD, %s, ...] (the image has no shell)", h, img.entrypoint[0])
				}
				if h.Test[1] != img.entrypoint[0] {
					t.Errorf("healthcheck runs %s, want the image's binary %s", h.Test[1], img.entrypoint[0])
				}
				hc, errs := configOf(t, invocation{args: h.Test[2:]})
				reportAll(t, errs)
				u, err := url.Parse(hc.values["url"])
				if err != nil || u.Hostname() != "127.0.0.1" || u.Port() != strconv.Itoa(portOf(ports, "http-addr")) {
					t.Errorf("healthcheck -url=%q: want http://127.0.0.1:%d, the service's own HTTP listener", hc.values["url"], portOf(ports, "http-addr"))
				}
			})

			t.Run("depends on healthy services", func(t *testing.T) {
				for dep, d := range s.DependsOn {
					ds, ok := c.Services[dep]
					switch {
					case !ok:
						t.Errorf("depends_on %s: no such service", dep)
					case d.Condition != "service_healthy":
						t.Errorf("depends_on %s: condition %q, want service_healthy", dep, d.Condition)
					case ds.Healthcheck == nil || ds.Healthcheck.Disable:
						t.Errorf("depends_on %s: service_healthy, but %s has no healthcheck", dep, dep)
					}
				}
			})

			t.Run("hardened like the Kubernetes pods", func(t *testing.T) {
				if s.User != "" {
					uid, _, _ := strings.Cut(s.User, ":")
					if uid != strconv.Itoa(img.uid) {
						t.Errorf("user %q: want the image's non-root user %d", s.User, img.uid)
					}
				}
				if !s.ReadOnly || !slices.Contains(s.Tmpfs, "/tmp") {
					t.Error("want read_only: true with a tmpfs on /tmp")
				}
				if !slices.Contains(s.CapDrop, "ALL") {
					t.Error("want cap_drop: [ALL]")
				}
				if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
					t.Error("want security_opt: [no-new-privileges:true]")
				}
				if file, ok := strings.CutPrefix(cfg.values["store"], "sqlite:"); ok {
					t.Errorf("-store=sqlite:%s on a read-only root file system (and one replica per file): use the PostgreSQL service", file)
				}
			})

			if _, ok := cfg.known["shutdown-timeout"]; ok {
				t.Run("stop grace period covers delay and drain", func(t *testing.T) {
					grace := 10 * time.Second // compose's default
					if s.StopGracePeriod != "" {
						var err error
						if grace, err = time.ParseDuration(s.StopGracePeriod); err != nil {
							t.Fatalf("stop_grace_period %q: %v", s.StopGracePeriod, err)
						}
					}
					if need := cfg.duration(t, "shutdown-delay") + cfg.duration(t, "shutdown-timeout"); grace <= need {
						t.Errorf("stop_grace_period %v: want more than -shutdown-delay + -shutdown-timeout = %v, or docker kills it mid-drain", grace, need)
					}
				})
			}

			if cfg.sub == "gateway" {
				t.Run("gateway targets the agents' gRPC port", func(t *testing.T) {
					host, port, err := net.SplitHostPort(cfg.values["target"])
					if err != nil {
						t.Fatalf("-target=%q: %v", cfg.values["target"], err)
					}
					var targets []string // the services reached by that name
					for _, name := range serves {
						sv := c.Services[name]
						if name == host || slices.ContainsFunc(slices.Collect(maps.Values(sv.Networks)), func(n *composeNetwork) bool {
							return n != nil && slices.Contains(n.Aliases, host)
						}) {
							targets = append(targets, name)
						}
					}
					if len(targets) == 0 {
						t.Fatalf("-target=%s: %q is neither a serve service nor a network alias of one", cfg.values["target"], host)
					}
					for _, name := range targets {
						tc, _ := configOf(t, inv(c.Services[name]))
						tp, _ := tc.listenPorts()
						if tc.sub != "serve" || strconv.Itoa(portOf(tp, "grpc-addr")) != port {
							t.Errorf("-target=%s reaches %s, which does not serve gRPC on %s", cfg.values["target"], name, port)
						}
						if _, ok := s.DependsOn[name]; !ok {
							t.Errorf("gateway does not depend on %s, which it targets", name)
						}
					}
				})
			}
		})
	}

	t.Run("replicas share one PostgreSQL", func(t *testing.T) {
		if len(serves) < 2 {
			t.Fatalf("%d serve service(s): the demo runs at least two replicas", len(serves))
		}
		dsns := map[string]bool{}
		for _, name := range serves {
			cfg, _ := configOf(t, inv(c.Services[name]))
			dsns[cfg.values["store"]] = true
		}
		if len(dsns) != 1 {
			t.Fatalf("the replicas use different stores %q", slices.Sorted(maps.Keys(dsns)))
		}
		dsn := slices.Collect(maps.Keys(dsns))[0]
		u, err := url.Parse(dsn)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			t.Fatalf("-store=%q: want a postgres:// URL", dsn)
		}
		db, ok := c.Services[u.Hostname()]
		if !ok {
			t.Fatalf("-store=%q: no service %q", dsn, u.Hostname())
		}
		pass, _ := u.User.Password()
		env := db.Environment
		for _, m := range []struct{ what, got, want string }{
			{"port", cmp.Or(u.Port(), "5432"), "5432"},
			{"user", u.User.Username(), env["POSTGRES_USER"]},
			{"password", pass, env["POSTGRES_PASSWORD"]},
			{"database", strings.TrimPrefix(u.Path, "/"), cmp.Or(env["POSTGRES_DB"], env["POSTGRES_USER"])},
		} {
			if m.got != m.want {
				t.Errorf("-store=%q: %s %q, but service %s is set up with %q", dsn, m.what, m.got, u.Hostname(), m.want)
			}
		}
		for _, name := range serves {
			if c.Services[name].DependsOn[u.Hostname()].Condition != "service_healthy" {
				t.Errorf("%s does not wait for %s to be healthy", name, u.Hostname())
			}
		}
	})

	t.Run("host ports are distinct", func(t *testing.T) {
		seen := map[int]string{}
		for _, name := range slices.Sorted(maps.Keys(c.Services)) {
			for _, spec := range c.Services[name].Ports {
				if p, err := parsePort(spec); err == nil {
					if other, dup := seen[p.host]; dup {
						t.Errorf("host port %d published by %s and %s", p.host, other, name)
					}
					seen[p.host] = name
				}
			}
		}
	})

	t.Run("services run and pass their healthchecks", func(t *testing.T) {
		// Every serve service on its own SQLite file (no PostgreSQL here),
		// then each other a2agrpc service (the gateway) with its -target
		// moved to where the first serve service listens.
		procs := map[string]*process{}
		for _, name := range serves {
			s := c.Services[name]
			cfg, errs := configOf(t, inv(s))
			if len(errs) > 0 {
				t.Fatalf("%s: the command does not parse (see its subtests)", name)
			}
			p := start(t, name, inv(s), cfg, "-shutdown-delay="+testShutdownDelay.String())
			procs[name] = p
			ports, _ := cfg.listenPorts()
			if admin := portOf(ports, "admin-addr"); admin != 0 {
				p.waitStatus(t, p.url(t, admin, healthzPath), 200, 30*time.Second)
				p.waitStatus(t, p.url(t, admin, readyzPath), 200, 30*time.Second)
			}
			runHealthcheck(t, s, p, img)
		}
		var gateways []string
		for _, name := range names {
			s := c.Services[name]
			if _, ok := procs[name]; ok || len(s.Command) == 0 || s.Command[0] != "gateway" {
				continue
			}
			cfg, errs := configOf(t, inv(s))
			if len(errs) > 0 {
				t.Fatalf("%s: the command does not parse (see its subtests)", name)
			}
			agent := procs[serves[0]]
			acfg, _ := configOf(t, inv(c.Services[serves[0]]))
			aports, _ := acfg.listenPorts()
			target := fmt.Sprintf("-target=127.0.0.1:%d", agent.local[portOf(aports, "grpc-addr")])
			p := start(t, name, inv(s), cfg, target)
			procs[name] = p
			runHealthcheck(t, s, p, img)
			ports, _ := cfg.listenPorts()
			send := p.url(t, portOf(ports, "http-addr"), "/message:send")
			resp, err := httpClient.Post(send, "application/json",
				strings.NewReader(`{"message":{"messageId":"deploy-test","role":"ROLE_USER","parts":[{"text":"hello through the gateway"}]}}`))
			if err != nil {
				t.Fatalf("POST %s: %v", send, err)
			}
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), "TASK_STATE_COMPLETED") {
				t.Errorf("POST %s through %s = %d %s: want a completed echo task", send, name, resp.StatusCode, body.String())
			}
			gateways = append(gateways, name)
		}
		for _, name := range serves {
			s := c.Services[name]
			cfg, _ := configOf(t, inv(s))
			ports, _ := cfg.listenPorts()
			p := procs[name]
			admin, httpPort := portOf(ports, "admin-addr"), portOf(ports, "http-addr")
			if admin == 0 || httpPort == 0 {
				continue
			}
			p.checkShutdown(t, p.url(t, admin, readyzPath), p.url(t, admin, healthzPath), p.url(t, httpPort, cardPath), cfg.duration(t, "shutdown-timeout"))
			if cfg.values["log-format"] == "json" {
				p.checkJSONLogs(t)
			}
		}
		t.Logf("ran %v and %v", serves, gateways)
	})
}

// runHealthcheck runs a service's healthcheck command with the built
// binary, its -url moved to where the service's port went.
func runHealthcheck(t *testing.T, s composeService, p *process, img image) {
	t.Helper()
	if s.Healthcheck == nil || len(s.Healthcheck.Test) < 3 || s.Healthcheck.Test[1] != img.entrypoint[0] {
		t.Fatalf("%s: no healthcheck running %s (see its subtest)", p.name, img.entrypoint[0])
	}
	args := slices.Clone(s.Healthcheck.Test[2:])
	for i, a := range args {
		name, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "url" {
			continue
		}
		if !ok && i+1 < len(args) {
			v = args[i+1]
		}
		u, err := url.Parse(v)
		if err != nil {
			t.Fatalf("healthcheck -url %q: %v", v, err)
		}
		port, _ := strconv.Atoi(u.Port())
		u.Host = fmt.Sprintf("127.0.0.1:%d", p.local[port])
		if ok {
			args[i] = "-url=" + u.String()
		} else {
			args[i+1] = u.String()
		}
	}
	runUntilOK(t, 30*time.Second, a2agrpcBinary(t), args...)
}
