package deploy_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// k8sDir holds the manifests; paths below are relative to it.
const k8sDir = "kubernetes"

// k8sTypes are the kinds the manifests may use, decoded strictly.
var k8sTypes = map[string]func() any{
	"apps/v1/Deployment":                     func() any { return new(appsv1.Deployment) },
	"apps/v1/StatefulSet":                    func() any { return new(appsv1.StatefulSet) },
	"v1/Service":                             func() any { return new(corev1.Service) },
	"v1/Secret":                              func() any { return new(corev1.Secret) },
	"v1/ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"policy/v1/PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
}

// k8sObject is one document of a manifest file.
type k8sObject struct {
	file, kind, name string
	obj              any
}

func (o k8sObject) String() string { return fmt.Sprintf("%s: %s %s", o.file, o.kind, o.name) }

// kustomization is the part of kustomization.yaml the test resolves.
// Anything else fails the strict decoding: extend the test with it.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// blankYAML reports a document of only comments and white space.
func blankYAML(doc string) bool {
	for line := range strings.SplitSeq(doc, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// parseManifest decodes every document of a file strictly: unknown fields,
// duplicate fields and unknown kinds are errors.
func parseManifest(file string, raw []byte) ([]k8sObject, []error) {
	var objs []k8sObject
	var errs []error
	for i, doc := range docSeparator.Split(string(raw), -1) {
		if blankYAML(doc) {
			continue
		}
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			errs = append(errs, fmt.Errorf("%s, document %d: %v", file, i+1, err))
			continue
		}
		kind := tm.APIVersion + "/" + tm.Kind
		newObj, ok := k8sTypes[kind]
		if !ok {
			errs = append(errs, fmt.Errorf("%s, document %d: %s is not a kind this test decodes (add it to k8sTypes)", file, i+1, kind))
			continue
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			errs = append(errs, fmt.Errorf("%s, document %d (%s): %v", file, i+1, tm.Kind, err))
			continue
		}
		name := obj.(interface{ GetName() string }).GetName()
		if name == "" {
			errs = append(errs, fmt.Errorf("%s, document %d (%s): no metadata.name", file, i+1, tm.Kind))
		}
		objs = append(objs, k8sObject{file: file, kind: tm.Kind, name: name, obj: obj})
	}
	return objs, errs
}

// k8sTree is deploy/kubernetes: the manifests of every file, and the
// directories with a kustomization.yaml.
type k8sTree struct {
	files map[string][]k8sObject // by path relative to k8sDir
	kusts map[string]kustomization
	dirs  map[string][]string // directory → its manifest files
}

func loadKubernetes(t *testing.T) *k8sTree {
	t.Helper()
	tree := &k8sTree{files: map[string][]k8sObject{}, kusts: map[string]kustomization{}, dirs: map[string][]string{}}
	var paths []string
	err := filepath.WalkDir(k8sDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no manifests under deploy/%s", k8sDir)
	}
	t.Run("parse", func(t *testing.T) {
		for _, p := range paths {
			rel := filepath.ToSlash(strings.TrimPrefix(p, k8sDir+string(filepath.Separator)))
			t.Run(rel, func(t *testing.T) {
				raw, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if path.Base(rel) == "kustomization.yaml" {
					var k kustomization
					if err := yaml.UnmarshalStrict(raw, &k); err != nil {
						t.Fatalf("%v (the test resolves resources and images; extend type kustomization for more)", err)
					}
					if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
						t.Errorf("apiVersion %q, kind %q: want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
					}
					tree.kusts[path.Dir(rel)] = k
					return
				}
				objs, errs := parseManifest(rel, raw)
				reportAll(t, errs)
				if len(objs) == 0 && len(errs) == 0 {
					t.Error("no objects")
				}
				tree.files[rel] = objs
				tree.dirs[path.Dir(rel)] = append(tree.dirs[path.Dir(rel)], rel)
			})
		}
	})
	return tree
}

// resolve returns what "kubectl apply -k deploy/kubernetes/<dir>" would
// create (resources only: the test applies no patches).
func (tree *k8sTree) resolve(dir string, seen map[string]bool) ([]k8sObject, error) {
	if seen[dir] {
		return nil, fmt.Errorf("%s is included twice", dir)
	}
	seen[dir] = true
	k, ok := tree.kusts[dir]
	if !ok {
		return nil, fmt.Errorf("%s has no kustomization.yaml", dir)
	}
	var out []k8sObject
	for _, r := range k.Resources {
		p := path.Clean(path.Join(dir, r))
		if objs, ok := tree.files[p]; ok {
			out = append(out, objs...)
			continue
		}
		if _, ok := tree.kusts[p]; ok {
			objs, err := tree.resolve(p, seen)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
			continue
		}
		return nil, fmt.Errorf("%s/kustomization.yaml: resource %q is neither a manifest nor a directory with a kustomization.yaml", dir, r)
	}
	ids := map[string]string{}
	for _, o := range out {
		id := o.kind + "/" + o.name
		if prev, dup := ids[id]; dup {
			return nil, fmt.Errorf("%s %s is defined twice (%s and %s)", o.kind, o.name, prev, o.file)
		}
		ids[id] = o.file
	}
	return out, nil
}

func (tree *k8sTree) all() []k8sObject {
	var out []k8sObject
	for _, f := range slices.Sorted(maps.Keys(tree.files)) {
		out = append(out, tree.files[f]...)
	}
	return out
}

func objectsOf[T any](objs []k8sObject) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// workload is a Deployment or a StatefulSet.
type workload struct {
	kind, name string
	replicas   int32
	tmpl       *corev1.PodTemplateSpec
}

func workloads(objs []k8sObject) []workload {
	var out []workload
	for _, o := range objs {
		switch w := o.obj.(type) {
		case *appsv1.Deployment:
			out = append(out, workload{"Deployment", w.Name, replicas(w.Spec.Replicas), &w.Spec.Template})
		case *appsv1.StatefulSet:
			out = append(out, workload{"StatefulSet", w.Name, replicas(w.Spec.Replicas), &w.Spec.Template})
		}
	}
	return out
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// isAgentImage reports an image of this repository's Dockerfile.
func isAgentImage(image string) bool {
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return path.Base(repo) == "a2agrpc"
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// containerPort resolves a probe's or Service's port (a number or a
// container port name) in the containers of a pod.
func containerPort(spec *corev1.PodSpec, nameOrNumber string) (corev1.ContainerPort, bool) {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name == nameOrNumber || strconv.Itoa(int(p.ContainerPort)) == nameOrNumber {
				return p, true
			}
		}
	}
	return corev1.ContainerPort{}, false
}

var k8sRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expandK8s expands $(VAR) as the kubelet does: from the variables given,
// $$ escaping, unknown references left as they are.
func expandK8s(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			if v, ok := vars[s[i+2:i+2+end]]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// secretValue finds a key of a Secret among objs.
func secretValue(objs []k8sObject, name, key string) (string, bool) {
	for _, s := range objectsOf[*corev1.Secret](objs) {
		if s.Name != name {
			continue
		}
		if v, ok := s.StringData[key]; ok {
			return v, true
		}
		if v, ok := s.Data[key]; ok {
			return string(v), true
		}
	}
	return "", false
}

// containerInvocation is how the kubelet would start an agent container in
// namespace ns: its arguments and environment, $(VAR) expanded, the
// downward API and Secrets (from objs, or a placeholder) resolved.
func containerInvocation(c *corev1.Container, objs []k8sObject, ns string) (invocation, []error) {
	env := map[string]string{}
	var errs []error
	if len(c.EnvFrom) > 0 {
		errs = append(errs, fmt.Errorf("container %s: envFrom hides which A2AGRPC_* variables are set; list them under env", c.Name))
	}
	for _, e := range c.Env {
		v := expandK8s(e.Value, env) // only the variables defined above
		if f := e.ValueFrom; f != nil {
			switch {
			case f.FieldRef != nil:
				v = map[string]string{
					"metadata.namespace": ns, "metadata.name": "a2agrpc-7d4b9c-x2x9z", "status.podIP": "127.0.0.1",
					"spec.nodeName": "node-1", "spec.serviceAccountName": "default",
				}[f.FieldRef.FieldPath]
			case f.SecretKeyRef != nil:
				var ok bool
				if v, ok = secretValue(objs, f.SecretKeyRef.Name, f.SecretKeyRef.Key); !ok {
					v = "secret:" + f.SecretKeyRef.Name + "/" + f.SecretKeyRef.Key
				}
			case f.ConfigMapKeyRef != nil:
				v = "configmap:" + f.ConfigMapKeyRef.Name + "/" + f.ConfigMapKeyRef.Key
				for _, cm := range objectsOf[*corev1.ConfigMap](objs) {
					if cm.Name == f.ConfigMapKeyRef.Name {
						v = cm.Data[f.ConfigMapKeyRef.Key]
					}
				}
			default:
				v = "1"
			}
		}
		if m := k8sRef.FindString(v); m != "" && e.ValueFrom == nil {
			errs = append(errs, fmt.Errorf("env %s=%q: %s is not defined above it (the kubelet leaves it as is)", e.Name, e.Value, m))
		}
		env[e.Name] = v
	}
	inv := invocation{env: env}
	for _, a := range c.Args {
		x := expandK8s(a, env)
		if m := k8sRef.FindString(x); m != "" {
			errs = append(errs, fmt.Errorf("argument %q: %s is not defined in env (the kubelet leaves it as is)", a, m))
		}
		inv.args = append(inv.args, x)
	}
	return inv, errs
}

// agentContainers are the containers running this repository's image.
func agentContainers(spec *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range spec.Containers {
		if isAgentImage(spec.Containers[i].Image) {
			out = append(out, &spec.Containers[i])
		}
	}
	return out
}

func TestKubernetes(t *testing.T) {
	tree := loadKubernetes(t)
	all := tree.all()
	img := dockerImage(t)

	t.Run("kustomizations list every manifest", func(t *testing.T) {
		for _, dir := range slices.Sorted(maps.Keys(tree.dirs)) {
			k, ok := tree.kusts[dir]
			if !ok {
				t.Errorf("%s: manifests without a kustomization.yaml", dir)
				continue
			}
			for _, f := range tree.dirs[dir] {
				if !slices.Contains(k.Resources, path.Base(f)) {
					t.Errorf("%s/kustomization.yaml does not list %s", dir, path.Base(f))
				}
			}
		}
		for _, dir := range slices.Sorted(maps.Keys(tree.kusts)) {
			if _, err := tree.resolve(dir, map[string]bool{}); err != nil {
				t.Error(err)
			}
		}
	})

	agents := 0
	for _, o := range all {
		d, ok := o.obj.(*appsv1.Deployment)
		if !ok {
			continue
		}
		for _, c := range agentContainers(&d.Spec.Template.Spec) {
			agents++
			t.Run(o.String()+"/"+c.Name, func(t *testing.T) { checkAgentContainer(t, d, c, all, img) })
		}
	}
	if agents == 0 {
		t.Error("no Deployment runs the a2agrpc image")
	}

	for _, dir := range slices.Sorted(maps.Keys(tree.kusts)) {
		t.Run("kubectl apply -k "+dir, func(t *testing.T) {
			set, err := tree.resolve(dir, map[string]bool{})
			if err != nil {
				t.Fatal(err)
			}
			checkKustomization(t, set, all)
		})
	}
}

// checkAgentContainer checks one container running a2agrpc, statically
// then by running it.
func checkAgentContainer(t *testing.T, d *appsv1.Deployment, c *corev1.Container, all []k8sObject, img image) {
	pod := &d.Spec.Template.Spec
	inv, invErrs := containerInvocation(c, all, "default")
	cfg, cfgErrs := configOf(t, inv)
	ports, portErrs := cfg.listenPorts()
	admin := portOf(ports, "admin-addr")

	t.Run("runs the image entrypoint", func(t *testing.T) {
		if len(c.Command) > 0 && !slices.Equal(c.Command, img.entrypoint) {
			t.Errorf("command %q replaces the image's ENTRYPOINT %q: leave it out and put the subcommand first in args", c.Command, img.entrypoint)
		}
		if cfg.sub != "serve" {
			t.Errorf("args run %q: want serve", cfg.sub)
		}
	})

	t.Run("args and env are flags of the subcommand", func(t *testing.T) {
		reportAll(t, invErrs)
		reportAll(t, cfgErrs)
		reportAll(t, otelEnvErrors(inv.env))
	})

	t.Run("container ports are the listen ports", func(t *testing.T) {
		reportAll(t, portErrs)
		named := map[int32]bool{}
		for _, p := range c.Ports {
			named[p.ContainerPort] = true
			flag, ok := ports[int(p.ContainerPort)]
			switch {
			case !ok:
				t.Errorf("container port %s %d: nothing listens there (listeners: %v)", p.Name, p.ContainerPort, cfg.listeners())
			case p.Name != portName[flag]:
				t.Errorf("container port %d (-%s) is named %q: want %q (Services and probes refer to it by name)", p.ContainerPort, flag, p.Name, portName[flag])
			}
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
				t.Errorf("container port %s: protocol %s, want TCP", p.Name, p.Protocol)
			}
		}
		for port, flag := range ports {
			if !named[int32(port)] {
				t.Errorf("-%s listens on %d, which is no container port", flag, port)
			}
		}
	})

	t.Run("probes hit the admin listener", func(t *testing.T) {
		if admin == 0 {
			t.Fatal("no -admin-addr: nothing answers /healthz and /readyz")
		}
		for _, pr := range []struct {
			name     string
			probe    *corev1.Probe
			path     string
			required bool
		}{
			{"startupProbe", c.StartupProbe, healthzPath, false},
			{"livenessProbe", c.LivenessProbe, healthzPath, true},
			{"readinessProbe", c.ReadinessProbe, readyzPath, true},
		} {
			if pr.probe == nil {
				if pr.required {
					t.Errorf("no %s", pr.name)
				}
				continue
			}
			g := pr.probe.HTTPGet
			if g == nil {
				t.Errorf("%s: want httpGet %s on the admin port", pr.name, pr.path)
				continue
			}
			if g.Path != pr.path {
				t.Errorf("%s: path %q, want %q", pr.name, g.Path, pr.path)
			}
			if p, ok := containerPort(pod, g.Port.String()); !ok || int(p.ContainerPort) != admin {
				t.Errorf("%s: port %s is not the admin port %d", pr.name, g.Port.String(), admin)
			}
			if g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP {
				t.Errorf("%s: scheme %s: the admin listener is plain HTTP", pr.name, g.Scheme)
			}
			if pr.path == readyzPath && time.Duration(max(pr.probe.TimeoutSeconds, 1))*time.Second <= readyzStorePing {
				t.Errorf("%s: timeoutSeconds %d: /readyz may take %v pinging the store; a shorter timeout fails the probe before the answer", pr.name, pr.probe.TimeoutSeconds, readyzStorePing)
			}
		}
	})

	t.Run("resources", func(t *testing.T) {
		r := c.Resources
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := r.Requests[name]; !ok || q.IsZero() {
				t.Errorf("no %s request (the scheduler and the autoscaler need it)", name)
			}
			if l, ok := r.Limits[name]; ok {
				if q := r.Requests[name]; q.Cmp(l) > 0 {
					t.Errorf("%s request %s above its limit %s", name, q.String(), l.String())
				}
			}
		}
		if q, ok := r.Limits[corev1.ResourceMemory]; !ok || q.IsZero() {
			t.Error("no memory limit")
		}
	})

	t.Run("security context", func(t *testing.T) {
		psc, sc := pod.SecurityContext, c.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if sc == nil {
			t.Fatal("no container securityContext")
		}
		nonRoot, uid := psc.RunAsNonRoot, psc.RunAsUser
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if nonRoot == nil || !*nonRoot {
			t.Error("runAsNonRoot is not true")
		}
		if uid != nil && (*uid == 0 || (img.uid > 0 && int(*uid) != img.uid)) {
			t.Errorf("runAsUser %d: want the image's non-root USER %d", *uid, img.uid)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Error("readOnlyRootFilesystem is not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Error("privileged")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("capabilities %+v: want drop [ALL] and nothing added", sc.Capabilities)
		}
	})

	t.Run("writable paths are volumes", func(t *testing.T) {
		mounted := func(p string) bool {
			return slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return !m.ReadOnly && (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/"))
			})
		}
		if !mounted("/tmp/x") {
			t.Error("no writable volume at /tmp: with readOnlyRootFilesystem, temporary files have nowhere to go")
		}
		if file, ok := strings.CutPrefix(cfg.values["store"], "sqlite:"); ok && !mounted(path.Join(img.workdir, file)) {
			t.Errorf("-store=%s is on the read-only root file system: mount a volume there", cfg.values["store"])
		}
	})

	t.Run("termination grace period covers delay and drain", func(t *testing.T) {
		delay, drain := cfg.duration(t, "shutdown-delay"), cfg.duration(t, "shutdown-timeout")
		grace := 30 * time.Second
		if pod.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
		}
		const margin = 5 * time.Second // closing the store, flushing traces
		if grace < delay+drain+margin {
			t.Errorf("terminationGracePeriodSeconds %v: want at least -shutdown-delay (%v) + -shutdown-timeout (%v) + %v, or the kubelet kills the pod mid-drain", grace, delay, drain, margin)
		}
		if delay <= 0 {
			t.Error("-shutdown-delay is 0: a terminating pod stops serving while kube-proxy, ingresses and load balancers still send it traffic")
		}
	})

	t.Run("Prometheus scrape annotations", func(t *testing.T) {
		a := d.Spec.Template.Annotations
		if a["prometheus.io/scrape"] != "true" {
			t.Errorf("prometheus.io/scrape = %q, want \"true\"", a["prometheus.io/scrape"])
		}
		if a["prometheus.io/port"] != strconv.Itoa(admin) {
			t.Errorf("prometheus.io/port = %q, want the admin port %d", a["prometheus.io/port"], admin)
		}
		if p, ok := a["prometheus.io/path"]; ok && p != metricsPath {
			t.Errorf("prometheus.io/path = %q, want %s", p, metricsPath)
		}
	})

	t.Run("no service links", func(t *testing.T) {
		// For a Service named "a2agrpc" the kubelet would set A2AGRPC_PORT,
		// A2AGRPC_SERVICE_HOST, ...: the prefix flags are read from.
		if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
			t.Error("enableServiceLinks is not false: Service environment variables share the A2AGRPC_ prefix of the flags")
		}
	})

	t.Run("serves its probes and drains on SIGTERM", func(t *testing.T) {
		if len(invErrs)+len(cfgErrs)+len(portErrs) > 0 || admin == 0 {
			t.Fatal("the container's arguments do not parse or set no admin listener (see the subtests above)")
		}
		p := start(t, d.Name, inv, cfg, "-shutdown-delay="+testShutdownDelay.String())
		probeURL := func(pr *corev1.Probe, def string) string {
			if pr == nil || pr.HTTPGet == nil {
				return p.url(t, admin, def)
			}
			cp, _ := containerPort(pod, pr.HTTPGet.Port.String())
			return p.url(t, int(cp.ContainerPort), pr.HTTPGet.Path)
		}
		for _, pr := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if pr != nil && pr.HTTPGet != nil {
				p.waitStatus(t, probeURL(pr, ""), 200, 30*time.Second)
			}
		}
		checkMetrics(t, p.url(t, admin, metricsPath))
		httpPort := portOf(ports, "http-addr")
		if httpPort == 0 {
			t.Fatal("no -http-addr: no Agent Card")
		}
		cardURL := p.url(t, httpPort, cardPath)
		checkCard(t, cardURL, cfg)
		p.checkShutdown(t, probeURL(c.ReadinessProbe, readyzPath), probeURL(c.LivenessProbe, healthzPath), cardURL, cfg.duration(t, "shutdown-timeout"))
		if cfg.values["log-format"] == "json" {
			p.checkJSONLogs(t)
		}
	})
}

// checkCard fetches the Agent Card and checks it advertises -advertise and
// -advertise-http as given (not the loopback ports the test moved the
// listeners to).
func checkCard(t *testing.T, cardURL string, cfg config) {
	t.Helper()
	code, body, err := httpGet(cardURL)
	if err != nil || code != 200 {
		t.Fatalf("GET %s = %d, %v", cardURL, code, err)
	}
	var card struct {
		SupportedInterfaces []struct {
			URL             string `json:"url"`
			ProtocolBinding string `json:"protocolBinding"`
		} `json:"supportedInterfaces"`
	}
	if err := json.Unmarshal([]byte(body), &card); err != nil {
		t.Fatalf("the Agent Card: %v\n%s", err, body)
	}
	got := map[string]string{}
	for _, i := range card.SupportedInterfaces {
		got[i.ProtocolBinding] = i.URL
	}
	if a := cfg.values["advertise"]; a != "" && got["GRPC"] != a {
		t.Errorf("the card's GRPC interface is %q, want -advertise=%s", got["GRPC"], a)
	}
	if a := strings.TrimRight(cfg.values["advertise-http"], "/"); a != "" && got["HTTP+JSON"] != a {
		t.Errorf("the card's HTTP+JSON interface is %q, want -advertise-http=%s", got["HTTP+JSON"], a)
	}
}

// checkKustomization checks what one "kubectl apply -k" creates: the
// references between its objects. all is every manifest, for Secrets that
// another directory provides.
func checkKustomization(t *testing.T, set, all []k8sObject) {
	ws := workloads(set)
	services := objectsOf[*corev1.Service](set)
	serviceOf := func(w workload) *corev1.Service {
		for _, s := range services {
			if selects(s.Spec.Selector, w.tmpl.Labels) {
				return s
			}
		}
		return nil
	}
	// servicePort is the Service port that reaches a container port.
	servicePort := func(s *corev1.Service, w workload, cp int32) (int32, bool) {
		for _, sp := range s.Spec.Ports {
			target := sp.TargetPort.String()
			if sp.TargetPort.IntValue() == 0 && sp.TargetPort.StrVal == "" {
				target = strconv.Itoa(int(sp.Port))
			}
			if p, ok := containerPort(&w.tmpl.Spec, target); ok && p.ContainerPort == cp {
				return sp.Port, true
			}
		}
		return 0, false
	}

	t.Run("Services select a workload and name its ports", func(t *testing.T) {
		for _, s := range services {
			i := slices.IndexFunc(ws, func(w workload) bool { return selects(s.Spec.Selector, w.tmpl.Labels) })
			if i < 0 {
				t.Errorf("Service %s: selector %v matches no workload's pod labels", s.Name, s.Spec.Selector)
				continue
			}
			w := ws[i]
			for _, sp := range s.Spec.Ports {
				target := sp.TargetPort.String()
				if sp.TargetPort.IntValue() == 0 && sp.TargetPort.StrVal == "" {
					target = strconv.Itoa(int(sp.Port))
				}
				cp, ok := containerPort(&w.tmpl.Spec, target)
				if !ok {
					t.Errorf("Service %s port %s: targetPort %s is no container port of %s %s", s.Name, sp.Name, target, w.kind, w.name)
					continue
				}
				if sp.TargetPort.StrVal == "" {
					t.Errorf("Service %s port %s: targetPort by number; name the container port (%q)", s.Name, sp.Name, cp.Name)
				}
				if cp.Name == "grpc" && (sp.AppProtocol == nil || *sp.AppProtocol != "grpc") {
					t.Errorf("Service %s port %s reaches gRPC: want appProtocol grpc", s.Name, sp.Name)
				}
			}
			for _, c := range agentContainers(&w.tmpl.Spec) {
				for _, name := range []string{"grpc", "http"} {
					if cp, ok := containerPort(&w.tmpl.Spec, name); !ok {
						t.Errorf("%s %s container %s has no %s port", w.kind, w.name, c.Name, name)
					} else if _, ok := servicePort(s, w, cp.ContainerPort); !ok {
						t.Errorf("Service %s does not expose the agent's %s port", s.Name, name)
					}
				}
			}
		}
	})

	hpas := objectsOf[*autoscalingv2.HorizontalPodAutoscaler](set)
	t.Run("HorizontalPodAutoscalers target a Deployment with CPU requests", func(t *testing.T) {
		for _, h := range hpas {
			ref := h.Spec.ScaleTargetRef
			i := slices.IndexFunc(ws, func(w workload) bool { return w.kind == ref.Kind && w.name == ref.Name })
			if ref.APIVersion != "apps/v1" || i < 0 {
				t.Errorf("HorizontalPodAutoscaler %s: scaleTargetRef %s %s %s is not a Deployment here", h.Name, ref.APIVersion, ref.Kind, ref.Name)
				continue
			}
			w := ws[i]
			minR := replicas(h.Spec.MinReplicas)
			if minR > h.Spec.MaxReplicas {
				t.Errorf("HorizontalPodAutoscaler %s: minReplicas %d > maxReplicas %d", h.Name, minR, h.Spec.MaxReplicas)
			}
			if w.replicas < minR || w.replicas > h.Spec.MaxReplicas {
				t.Errorf("%s %s: replicas %d outside the autoscaler's %d..%d", w.kind, w.name, w.replicas, minR, h.Spec.MaxReplicas)
			}
			cpu := slices.ContainsFunc(h.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
				return m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU
			})
			if !cpu {
				t.Errorf("HorizontalPodAutoscaler %s: no CPU resource metric", h.Name)
			}
			for _, c := range w.tmpl.Spec.Containers {
				if q, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok || q.IsZero() {
					t.Errorf("HorizontalPodAutoscaler %s: container %s has no CPU request, so CPU utilization is undefined", h.Name, c.Name)
				}
			}
		}
	})

	t.Run("PodDisruptionBudgets select a workload", func(t *testing.T) {
		for _, b := range objectsOf[*policyv1.PodDisruptionBudget](set) {
			if b.Spec.Selector == nil || !slices.ContainsFunc(ws, func(w workload) bool { return selects(b.Spec.Selector.MatchLabels, w.tmpl.Labels) }) {
				t.Errorf("PodDisruptionBudget %s selects no workload", b.Name)
			}
		}
	})

	for _, w := range ws {
		for _, c := range agentContainers(&w.tmpl.Spec) {
			t.Run(w.kind+" "+w.name+"/"+c.Name, func(t *testing.T) {
				t.Run("Agent Card advertises the Service", func(t *testing.T) {
					s := serviceOf(w)
					if s == nil {
						t.Fatal("no Service selects the agent's pods")
					}
					for _, ns := range []string{"default", "team-a"} {
						inv, _ := containerInvocation(c, all, ns)
						cfg, _ := configOf(t, inv)
						hosts := []string{s.Name, s.Name + "." + ns, s.Name + "." + ns + ".svc", s.Name + "." + ns + ".svc.cluster.local"}
						for _, a := range []struct{ flag, port, value string }{
							{"advertise", "grpc", cfg.values["advertise"]},
							{"advertise-http", "http", cfg.values["advertise-http"]},
						} {
							hostport := a.value
							if a.flag == "advertise-http" {
								u, err := url.Parse(a.value)
								if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
									t.Errorf("namespace %s: -%s=%q: want http://<Service>:<port>", ns, a.flag, a.value)
									continue
								}
								hostport = u.Host
							}
							host, port, err := net.SplitHostPort(hostport)
							if err != nil || !slices.Contains(hosts, host) {
								t.Errorf("namespace %s: -%s=%q: want the Service's name (one of %q) with its %s port, so that the card names the Service, not a pod (use $(POD_NAMESPACE))", ns, a.flag, a.value, hosts, a.port)
								continue
							}
							cp, _ := containerPort(&w.tmpl.Spec, a.port)
							if sp, ok := servicePort(s, w, cp.ContainerPort); !ok || strconv.Itoa(int(sp)) != port {
								t.Errorf("-%s=%q: port %s is not the Service %s port reaching the %s container port", a.flag, a.value, port, s.Name, a.port)
							}
						}
					}
				})

				t.Run("replicas share a durable store", func(t *testing.T) {
					maxR := w.replicas
					for _, h := range hpas {
						if h.Spec.ScaleTargetRef.Name == w.name {
							maxR = max(maxR, h.Spec.MaxReplicas)
						}
					}
					inv, _ := containerInvocation(c, set, "default")
					cfg, _ := configOf(t, inv)
					store := cfg.values["store"]
					switch {
					case strings.HasPrefix(store, "secret:"):
						t.Logf("-store comes from %s, not in this directory: it must be a postgres:// URL", store)
					case maxR > 1 && !strings.HasPrefix(store, "postgres://") && !strings.HasPrefix(store, "postgresql://"):
						t.Errorf("up to %d replicas with -store=%s: each pod would keep its own tasks; use PostgreSQL", maxR, store)
					}
				})
			})
		}
	}

	// The PostgreSQL example: a database workload next to the agent.
	var db *workload
	for i, w := range ws {
		if slices.ContainsFunc(w.tmpl.Spec.Containers, func(c corev1.Container) bool { return strings.HasPrefix(path.Base(c.Image), "postgres") }) {
			db = &ws[i]
		}
	}
	if db == nil {
		return
	}
	t.Run("agents reach the PostgreSQL of the example", func(t *testing.T) {
		dbc := db.tmpl.Spec.Containers[0]
		dbEnv := map[string]string{}
		for _, e := range dbc.Env {
			dbEnv[e.Name] = e.Value
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				v, ok := secretValue(set, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
				if !ok {
					t.Errorf("%s %s env %s: Secret %s key %s is not in this directory", db.kind, db.name, e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
				}
				dbEnv[e.Name] = v
			}
		}
		dbPort, ok := containerPort(&db.tmpl.Spec, "postgres")
		if !ok {
			t.Fatalf("%s %s: no container port named postgres", db.kind, db.name)
		}
		dbSvc := serviceOf(*db)
		if dbSvc == nil {
			t.Fatalf("no Service selects %s %s", db.kind, db.name)
		}
		svcPort, ok := servicePort(dbSvc, *db, dbPort.ContainerPort)
		if !ok {
			t.Fatalf("Service %s does not reach the database port", dbSvc.Name)
		}
		agentsSeen := 0
		for _, w := range ws {
			for _, c := range agentContainers(&w.tmpl.Spec) {
				agentsSeen++
				if w.replicas < 2 {
					t.Errorf("%s %s: %d replica(s): the example shows several replicas sharing the store", w.kind, w.name, w.replicas)
				}
				var ref *corev1.SecretKeySelector
				for _, e := range c.Env {
					if e.Name == flagEnv("store") && e.ValueFrom != nil {
						ref = e.ValueFrom.SecretKeyRef
					}
				}
				if ref == nil {
					t.Errorf("%s %s: %s does not come from a Secret (it holds the database password)", w.kind, w.name, flagEnv("store"))
					continue
				}
				dsn, ok := secretValue(set, ref.Name, ref.Key)
				if !ok {
					t.Errorf("%s %s: Secret %s key %s is not part of this directory", w.kind, w.name, ref.Name, ref.Key)
					continue
				}
				u, err := url.Parse(dsn)
				if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
					t.Errorf("Secret %s key %s = %q: want a postgres:// URL", ref.Name, ref.Key, dsn)
					continue
				}
				host := strings.Split(u.Hostname(), ".")[0]
				pass, _ := u.User.Password()
				user, dbName := dbEnv["POSTGRES_USER"], cmp.Or(dbEnv["POSTGRES_DB"], dbEnv["POSTGRES_USER"])
				for _, m := range []struct{ what, got, want string }{
					{"host", host, dbSvc.Name},
					{"port", u.Port(), strconv.Itoa(int(svcPort))},
					{"user", u.User.Username(), user},
					{"password", pass, dbEnv["POSTGRES_PASSWORD"]},
					{"database", strings.TrimPrefix(u.Path, "/"), dbName},
				} {
					if m.got != m.want {
						t.Errorf("the store URL in Secret %s key %s: %s %q, but the database is set up with %q", ref.Name, ref.Key, m.what, m.got, m.want)
					}
				}
			}
		}
		if agentsSeen == 0 {
			t.Error("no agent next to the database")
		}
	})
}
