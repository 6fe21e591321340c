package deploy_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dockerInstr is one instruction of the Dockerfile, continuation lines
// joined.
type dockerInstr struct {
	line int
	cmd  string // upper case
	args string
}

type dockerStage struct {
	image, name string
	line        int
	instrs      []dockerInstr
}

type dockerfile struct {
	args   map[string]string // ARGs declared before the first FROM
	stages []*dockerStage
}

// dockerCopy is a COPY instruction.
type dockerCopy struct {
	line        int
	from, chown string
	srcs        []string
	dest        string
}

var dockerVar = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)

func parseDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := &dockerfile{args: map[string]string{}}
	var cur strings.Builder
	startLine := 0
	emit := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := dockerInstr{line: startLine, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			st := &dockerStage{line: in.line}
			var toks []string
			for _, f := range strings.Fields(in.args) {
				if !strings.HasPrefix(f, "--") {
					toks = append(toks, f)
				}
			}
			if len(toks) == 0 {
				t.Fatalf("Dockerfile:%d: FROM without an image", in.line)
			}
			st.image = dockerVar.ReplaceAllStringFunc(toks[0], func(m string) string {
				sub := dockerVar.FindStringSubmatch(m)
				if v, ok := df.args[sub[1]+sub[2]]; ok {
					return v
				}
				return m
			})
			if len(toks) >= 3 && strings.EqualFold(toks[1], "AS") {
				st.name = toks[2]
			}
			df.stages = append(df.stages, st)
		case len(df.stages) == 0 && in.cmd == "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			df.args[name] = def
		case len(df.stages) == 0:
			t.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
		default:
			st := df.stages[len(df.stages)-1]
			st.instrs = append(st.instrs, in)
		}
	}
	for i, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue // comments and blank lines, also inside continuations
		}
		if cur.Len() == 0 {
			startLine = i + 1
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(line, " \t\r"), `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		emit()
	}
	emit()
	return df
}

func (st *dockerStage) all(cmd string) []dockerInstr {
	var out []dockerInstr
	for _, in := range st.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (st *dockerStage) last(cmd string) (dockerInstr, bool) {
	all := st.all(cmd)
	if len(all) == 0 {
		return dockerInstr{}, false
	}
	return all[len(all)-1], true
}

func (st *dockerStage) copies() []dockerCopy {
	var out []dockerCopy
	for _, in := range st.all("COPY") {
		c := dockerCopy{line: in.line}
		var paths []string
		for _, f := range strings.Fields(in.args) {
			switch {
			case strings.HasPrefix(f, "--from="):
				c.from = strings.TrimPrefix(f, "--from=")
			case strings.HasPrefix(f, "--chown="):
				c.chown = strings.TrimPrefix(f, "--chown=")
			case strings.HasPrefix(f, "--"):
			default:
				paths = append(paths, f)
			}
		}
		if len(paths) >= 2 {
			c.srcs, c.dest = paths[:len(paths)-1], paths[len(paths)-1]
		}
		out = append(out, c)
	}
	return out
}

// execForm reads the JSON (exec) form of ENTRYPOINT, CMD or VOLUME.
func execForm(in dockerInstr) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil || len(v) == 0 {
		return nil, fmt.Errorf("Dockerfile:%d: %s %s: want the exec form, a JSON array of strings (the shell form needs /bin/sh, which a minimal image lacks)", in.line, in.cmd, in.args)
	}
	return v, nil
}

func (df *dockerfile) final() *dockerStage { return df.stages[len(df.stages)-1] }

func (df *dockerfile) stage(name string) *dockerStage {
	for i, st := range df.stages {
		if st.name == name || strconv.Itoa(i) == name {
			return st
		}
	}
	return nil
}

// image is what the final stage runs.
type image struct {
	entrypoint []string
	cmd        []string
	env        map[string]string
	workdir    string // "/" when unset
	uid, gid   int
	binary     dockerCopy   // the COPY that puts ENTRYPOINT[0] in the image
	build      *dockerStage // the stage it comes from
}

// dockerImage reads the final stage; the test fails when it cannot say what
// the image runs.
func dockerImage(t *testing.T) image {
	t.Helper()
	df := parseDockerfile(t)
	if len(df.stages) == 0 {
		t.Fatal("Dockerfile: no FROM")
	}
	final := df.final()
	var img image
	ep, ok := final.last("ENTRYPOINT")
	if !ok {
		t.Fatal("Dockerfile: the final stage has no ENTRYPOINT: want the a2agrpc binary, so that arguments name a subcommand")
	}
	var err error
	if img.entrypoint, err = execForm(ep); err != nil {
		t.Fatal(err)
	}
	if c, ok := final.last("CMD"); ok {
		if img.cmd, err = execForm(c); err != nil {
			t.Fatal(err)
		}
	}
	img.env = map[string]string{}
	for _, in := range final.all("ENV") {
		if f := strings.Fields(in.args); len(f) > 0 && strings.Contains(f[0], "=") { // ENV A=1 B=2
			for _, kv := range f {
				k, v, _ := strings.Cut(kv, "=")
				img.env[k] = strings.Trim(v, `"`)
			}
		} else if k, v, ok := strings.Cut(in.args, " "); ok { // ENV A 1
			img.env[k] = strings.TrimSpace(v)
		}
	}
	img.workdir = "/"
	if wd, ok := final.last("WORKDIR"); ok {
		img.workdir = wd.args
	}
	img.uid, img.gid = -1, -1
	if u, ok := final.last("USER"); ok {
		uid, gid, hasGID := strings.Cut(u.args, ":")
		if img.uid, err = strconv.Atoi(uid); err != nil {
			img.uid = -2 // not numeric
		}
		if hasGID {
			if img.gid, err = strconv.Atoi(gid); err != nil {
				img.gid = -2
			}
		}
	}
	for _, c := range final.copies() {
		if c.from == "" {
			continue
		}
		if c.dest == img.entrypoint[0] || (strings.HasSuffix(c.dest, "/") && len(c.srcs) == 1 && c.dest+path.Base(c.srcs[0]) == img.entrypoint[0]) {
			img.binary, img.build = c, df.stage(c.from)
		}
	}
	return img
}

var goDirective = regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`)

func TestDockerfile(t *testing.T) {
	df := parseDockerfile(t)
	if len(df.stages) < 2 {
		t.Fatalf("Dockerfile: %d stage(s): want a multi-stage build, a Go build stage then a minimal final stage", len(df.stages))
	}
	img := dockerImage(t)
	final := df.final()

	t.Run("entrypoint is the binary built in an earlier stage", func(t *testing.T) {
		if len(img.entrypoint) != 1 {
			t.Errorf("ENTRYPOINT %q: want just the binary, so that the container's arguments (CMD, Kubernetes args, compose command) start with the subcommand", img.entrypoint)
		}
		if img.build == nil || img.build == final {
			t.Fatalf("no COPY --from=<build stage> puts %s into the final stage", img.entrypoint[0])
		}
	})

	t.Run("build stage is golang with the go.mod Go version", func(t *testing.T) {
		if img.build == nil {
			t.Skip("no build stage (see the entrypoint subtest)")
		}
		mod, err := os.ReadFile("../go.mod")
		if err != nil {
			t.Fatal(err)
		}
		want := goDirective.FindStringSubmatch(string(mod))
		got := regexp.MustCompile(`^(?:docker\.io/(?:library/)?)?golang:(\d+)\.(\d+)`).FindStringSubmatch(img.build.image)
		if want == nil || got == nil {
			t.Fatalf("build stage FROM %q: want golang:<major>.<minor>[...] (go.mod: %q)", img.build.image, want)
		}
		if atoi(got[1]) < atoi(want[1]) || (got[1] == want[1] && atoi(got[2]) < atoi(want[2])) {
			t.Errorf("build stage FROM %s: older than go.mod's go %s.%s", img.build.image, want[1], want[2])
		}
	})

	t.Run("static trimmed build", func(t *testing.T) {
		if img.build == nil {
			t.Skip("no build stage (see the entrypoint subtest)")
		}
		cgoOff := regexp.MustCompile(`\bCGO_ENABLED[= ]0\b`)
		envOff := slices.ContainsFunc(img.build.all("ENV"), func(in dockerInstr) bool { return cgoOff.MatchString(in.args) })
		var builds []dockerInstr
		for _, in := range img.build.all("RUN") {
			if strings.Contains(in.args, "go build") {
				builds = append(builds, in)
			}
		}
		if len(builds) == 0 {
			t.Fatalf("stage %q has no RUN ... go build", img.build.name)
		}
		outs := regexp.MustCompile(`\s-o[= ](\S+)`)
		var built bool
		for _, in := range builds {
			if !envOff && !cgoOff.MatchString(in.args) {
				t.Errorf("Dockerfile:%d: go build without CGO_ENABLED=0: the final image has no C library", in.line)
			}
			if !strings.Contains(in.args, "-trimpath") {
				t.Errorf("Dockerfile:%d: go build without -trimpath", in.line)
			}
			for _, m := range outs.FindAllStringSubmatch(in.args, -1) {
				built = built || slices.Contains(img.binary.srcs, m[1])
			}
		}
		if !built {
			t.Errorf("no go build -o writes %q, which Dockerfile:%d copies into the image", img.binary.srcs, img.binary.line)
		}
	})

	t.Run("final stage is minimal", func(t *testing.T) {
		minimal := regexp.MustCompile(`^(scratch|gcr\.io/distroless/static(-debian\d+)?(:[\w.-]+)?(@sha256:[0-9a-f]{64})?)$`)
		if !minimal.MatchString(final.image) {
			t.Errorf("final stage FROM %s: want gcr.io/distroless/static-debian12:nonroot or scratch", final.image)
		}
		for _, in := range final.all("RUN") {
			t.Errorf("Dockerfile:%d: RUN in the final stage: a minimal image has no shell; prepare files in the build stage", in.line)
		}
	})

	t.Run("runs as a numeric non-root user", func(t *testing.T) {
		switch {
		case img.uid == -1:
			t.Error("the final stage has no USER: the container would run as root")
		case img.uid == -2 || img.gid == -2:
			t.Error("USER is not numeric: Kubernetes can only enforce runAsNonRoot on a numeric user (uid[:gid])")
		case img.uid == 0 || img.gid == 0:
			t.Errorf("USER %d:%d: want a non-root uid and gid (distroless nonroot: 65532:65532)", img.uid, img.gid)
		}
	})

	t.Run("default command is a known subcommand with known flags", func(t *testing.T) {
		if len(img.cmd) == 0 {
			t.Fatal("no CMD: a bare docker run would print the usage and exit")
		}
		cfg, errs := configOf(t, invocation{args: img.cmd, env: img.env})
		reportAll(t, errs)
		if cfg.sub != "serve" {
			t.Errorf("CMD runs %q: want serve", cfg.sub)
		}
	})

	t.Run("default command listens on the exposed ports", func(t *testing.T) {
		cfg, _ := configOf(t, invocation{args: img.cmd, env: img.env})
		ports, errs := cfg.listenPorts()
		reportAll(t, errs)
		if _, ok := cfg.listeners()["admin-addr"]; !ok {
			t.Error("CMD sets no -admin-addr: nothing would answer /healthz, /readyz and /metrics")
		}
		var exposed []int
		for _, in := range final.all("EXPOSE") {
			for _, f := range strings.Fields(in.args) {
				p, err := strconv.Atoi(strings.TrimSuffix(f, "/tcp"))
				if err != nil {
					t.Errorf("Dockerfile:%d: EXPOSE %s: not a TCP port", in.line, f)
				}
				exposed = append(exposed, p)
			}
		}
		slices.Sort(exposed)
		listening := slices.Sorted(maps.Keys(ports))
		if !slices.Equal(exposed, listening) {
			t.Errorf("EXPOSE %v, but the default command listens on %v (%v)", exposed, listening, cfg.listeners())
		}
	})

	t.Run("SQLite store in a volume the user owns", func(t *testing.T) {
		cfg, _ := configOf(t, invocation{args: img.cmd, env: img.env})
		store := cfg.values["store"]
		file, ok := strings.CutPrefix(store, "sqlite:")
		if !ok {
			t.Skipf("the default store is %q, not an SQLite file", store)
		}
		if !filepath.IsAbs(file) {
			wd, ok := final.last("WORKDIR")
			if !ok {
				t.Fatalf("-store=%s is relative and the final stage has no WORKDIR", store)
			}
			file = path.Join(wd.args, file)
		}
		var vols []string
		for _, in := range final.all("VOLUME") {
			v, err := execForm(in)
			if err != nil {
				v = strings.Fields(in.args)
			}
			vols = append(vols, v...)
		}
		i := slices.IndexFunc(vols, func(v string) bool { return strings.HasPrefix(file, strings.TrimSuffix(v, "/")+"/") })
		if i < 0 {
			t.Fatalf("the store %s is in no VOLUME (%q): with a read-only root file system there is nowhere to write it", file, vols)
		}
		if img.uid <= 0 {
			t.Skip("no numeric non-root USER (see its subtest)")
		}
		owned := slices.ContainsFunc(final.copies(), func(c dockerCopy) bool {
			uid, _, _ := strings.Cut(c.chown, ":")
			return strings.TrimSuffix(c.dest, "/") == strings.TrimSuffix(vols[i], "/") && uid == strconv.Itoa(img.uid)
		})
		if !owned {
			t.Errorf("nothing creates %s owned by uid %d (COPY --chown=%d:%d from the build stage): the non-root user could not create the database there", vols[i], img.uid, img.uid, img.gid)
		}
	})

	t.Run("dockerignore keeps the build inputs", func(t *testing.T) {
		checkDockerignore(t)
	})

	t.Run("default command serves the probes", func(t *testing.T) {
		cfg, errs := configOf(t, invocation{args: img.cmd, env: img.env})
		if len(errs) > 0 {
			t.Fatalf("the default command does not parse (see the flags subtest): %v", errs)
		}
		ports, _ := cfg.listenPorts()
		p := start(t, "image CMD", invocation{args: img.cmd, env: img.env}, cfg)
		admin, httpPort := portOf(ports, "admin-addr"), portOf(ports, "http-addr")
		if admin == 0 {
			t.Fatal("no -admin-addr")
		}
		p.waitStatus(t, p.url(t, admin, healthzPath), 200, 20*time.Second)
		p.waitStatus(t, p.url(t, admin, readyzPath), 200, 20*time.Second)
		checkMetrics(t, p.url(t, admin, metricsPath))
		if httpPort != 0 {
			p.waitStatus(t, p.url(t, httpPort, cardPath), 200, 5*time.Second)
		}
	})
}

// portOf is the port a listen flag listens on (0: none).
func portOf(ports map[int]string, flag string) int {
	for p, f := range ports {
		if f == flag {
			return p
		}
	}
	return 0
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// checkDockerignore fails if .dockerignore excludes a file the image build
// needs: go.mod, go.sum and the Go and embedded files of every package of
// this module that ./cmd/a2agrpc imports; or if it lets .git in.
func checkDockerignore(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatalf("%v: without it the build context carries .git, node_modules and local databases", err)
	}
	ignored := dockerignoreMatcher(string(raw))
	list := exec.Command("go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`, "./cmd/a2agrpc")
	list.Dir = ".."
	list.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		dir, err := filepath.Rel(root, f[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range f[1:] {
			needed = append(needed, filepath.ToSlash(filepath.Join(dir, name)))
		}
	}
	if len(needed) < 10 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, f := range needed {
		if ignored(f) {
			t.Errorf(".dockerignore excludes %s, which go build ./cmd/a2agrpc needs", f)
		}
	}
	if !ignored(".git/HEAD") {
		t.Error(".dockerignore lets .git into the build context")
	}
}

// dockerignoreMatcher returns whether a path (slash-separated, relative to
// the context) is excluded: Docker's rules, without character classes —
// patterns anchored at the root, * within a name, ** across directories,
// a directory excluding its contents, !exceptions, the last match winning.
func dockerignoreMatcher(text string) func(string) bool {
	type rule struct {
		re     *regexp.Regexp
		negate bool
	}
	var rules []rule
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		p := path.Clean(strings.TrimPrefix(strings.TrimPrefix(line, "!"), "/"))
		var b strings.Builder
		b.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				b.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				b.WriteString(".*")
				i++
			case p[i] == '*':
				b.WriteString("[^/]*")
			case p[i] == '?':
				b.WriteString("[^/]")
			default:
				b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		b.WriteString("$")
		rules = append(rules, rule{regexp.MustCompile(b.String()), neg})
	}
	return func(name string) bool {
		var prefixes []string // the path and every parent directory
		for p := name; p != "." && p != "/" && p != ""; p = path.Dir(p) {
			prefixes = append(prefixes, p)
		}
		excluded := false
		for _, r := range rules {
			if slices.ContainsFunc(prefixes, r.re.MatchString) {
				excluded = !r.negate
			}
		}
		return excluded
	}
}
