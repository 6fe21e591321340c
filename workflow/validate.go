package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// Validate checks the definition and reports every problem found, each an
// *Error naming the field (and, for definitions read from YAML, its line):
//   - a name, at least one step;
//   - step ids present, unique, and usable in expressions;
//   - exactly one target per step: an http(s) agent URL, or a capability
//     filter with at least one criterion;
//   - depends_on naming known steps, other than the step itself, once
//     each, and no dependency cycle (the cycle is named);
//   - an input with at least one of text, data and files_from;
//   - expressions that parse, and that refer only to steps the step
//     depends on, directly or transitively (outputs may refer to any);
//   - no negative timeout, attempts or backoff.
func (d *Definition) Validate() error {
	_, err := d.compile()
	return err
}

// validator collects problems while compiling a definition.
type validator struct {
	d    *Definition
	errs []*Error
}

func (v *validator) fail(l location, format string, args ...any) {
	v.errs = append(v.errs, l.err(fmt.Sprintf(format, args...)))
}

// compile validates d and builds its plan.
func (d *Definition) compile() (*plan, error) {
	if d == nil {
		return nil, &Error{Msg: "no workflow definition"}
	}
	v := &validator{d: d}
	p := &plan{name: d.Name, byID: map[string]*stepPlan{}}
	if strings.TrimSpace(d.Name) == "" {
		v.fail(d.locate("", "name", ""), "missing: a workflow needs a name")
	}
	if len(d.Steps) == 0 {
		v.fail(d.locate("", "steps", ""), "no steps: a workflow needs at least one")
	}
	ids := map[string]int{}
	for i := range d.Steps {
		sp := v.step(i, ids)
		p.steps = append(p.steps, sp)
		if sp.id != "" {
			if _, dup := p.byID[sp.id]; !dup {
				p.byID[sp.id] = sp
			}
		}
	}
	v.graph(p)
	v.outputs(p)
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool {
			a, b := v.errs[i], v.errs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		errs := make([]error, len(v.errs))
		for i, e := range v.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// stepPath is the field path of step i.
func stepPath(i int) fieldPath { return fieldPath("steps").index(i) }

// step checks step i on its own (references to other steps are checked by
// graph, once every id is known) and compiles it.
func (v *validator) step(i int, ids map[string]int) *stepPlan {
	s := &v.d.Steps[i]
	base := stepPath(i)
	at := func(f fieldPath, fallbacks ...fieldPath) location {
		return v.d.locate(s.ID, f, append(fallbacks, base)...)
	}
	sp := &stepPlan{index: i, id: s.ID, target: cloneTarget(s.Target), timeout: s.Timeout, retry: s.Retry,
		filesFrom: slices.Clone(s.Input.FilesFrom), deps: slices.Clone(s.DependsOn)}
	switch prev, dup := ids[s.ID]; {
	case s.ID == "":
		v.fail(at(base.key("id")), "missing id")
	case !isIdent(s.ID):
		v.fail(at(base.key("id")), "id %q is not usable in expressions: use letters, digits, '_' and '-', starting with a letter or '_'", s.ID)
	case dup:
		v.fail(at(base.key("id")), "duplicate id %q (also steps[%d])", s.ID, prev)
	default:
		ids[s.ID] = i
	}
	v.target(s, base, at)
	if s.Timeout < 0 {
		v.fail(at(base.key("timeout")), "negative timeout %v", s.Timeout)
	}
	if n := s.Retry.MaxAttempts; n < 0 || n > MaxAttemptsLimit {
		v.fail(at(base.key("retry").key("max_attempts"), base.key("retry")), "max_attempts %d out of range [0, %d]", n, MaxAttemptsLimit)
	}
	if s.Retry.Backoff < 0 {
		v.fail(at(base.key("retry").key("backoff"), base.key("retry")), "negative backoff %v", s.Retry.Backoff)
	}
	in := base.key("input")
	if s.Input.Text == "" && s.Input.Data == nil && len(s.Input.FilesFrom) == 0 {
		v.fail(at(in), "empty: a message needs text, data or files_from")
	}
	if s.Input.Text != "" {
		sp.text = v.template(s.Input.Text, at(in.key("text"), in))
	}
	if s.Input.Data != nil {
		sp.data = v.value(s.Input.Data, in.key("data"), s.ID, in, base)
	}
	return sp
}

// target checks that the step has exactly one well-formed target.
func (v *validator) target(s *Step, base fieldPath, at func(fieldPath, ...fieldPath) location) {
	t := s.Target
	switch {
	case t.Agent != "" && t.Capability != nil:
		v.fail(at(base.key("agent")), "both agent and capability given: a step has exactly one target")
	case t.Agent == "" && t.Capability == nil:
		v.fail(at(base), "no target: give agent (a URL) or capability (a filter)")
	case t.Agent != "":
		u, err := url.Parse(t.Agent)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail(at(base.key("agent")), "agent %q is not an http(s) URL", t.Agent)
		}
	case emptyFilter(t.Capability):
		v.fail(at(base.key("capability")), "empty filter: give at least one of skill_id, tag, input_mode, output_mode, protocol_binding, name")
	}
}

// emptyFilter reports whether f selects by nothing (include_unhealthy
// alone does not select).
func emptyFilter(f *registryv1.AgentFilter) bool {
	c := proto.Clone(f).(*registryv1.AgentFilter)
	c.IncludeUnhealthy = false
	return proto.Size(c) == 0
}

// template parses one template string.
func (v *validator) template(s string, l location) *template {
	t, err := parseTemplate(s)
	if err != nil {
		v.fail(l, "%v", err)
		return nil
	}
	t.loc = l
	return t
}

// value compiles a data value, each string in it a template.
func (v *validator) value(x any, path fieldPath, step string, fallbacks ...fieldPath) valueTemplate {
	switch x := x.(type) {
	case string:
		if t := v.template(x, v.d.locate(step, path, fallbacks...)); t != nil {
			return t
		}
		return nil
	case map[string]any:
		o := make(objectTemplate, len(x))
		for k, e := range x {
			o[k] = v.value(e, path.key(k), step, fallbacks...)
		}
		return o
	case []any:
		l := make(listTemplate, len(x))
		for i, e := range x {
			l[i] = v.value(e, path.index(i), step, fallbacks...)
		}
		return l
	case nil, bool, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return literal{x}
	}
	// Other Go values (map[string]string, structs) are taken as the JSON
	// they marshal to.
	var plain any
	b, err := json.Marshal(x)
	if err == nil {
		err = json.Unmarshal(b, &plain)
	}
	if err != nil {
		v.fail(v.d.locate(step, path, fallbacks...), "%T is not a JSON value: %v", x, err)
		return nil
	}
	return v.value(plain, path, step, fallbacks...)
}

// graph checks the dependencies: they exist, form no cycle, and cover
// every step the step's expressions and files_from use.
func (v *validator) graph(p *plan) {
	known := make([]string, 0, len(p.byID))
	for _, s := range p.steps {
		if p.byID[s.id] == s {
			known = append(known, s.id)
		}
	}
	deps := make([][]int, len(p.steps))
	for i, s := range p.steps {
		base := stepPath(i).key("depends_on")
		seen := map[string]bool{}
		for j, dep := range s.deps {
			l := v.d.locate(s.id, base.index(j), base, stepPath(i))
			target, ok := p.byID[dep]
			switch {
			case !ok:
				v.fail(l, "unknown step %q%s", dep, suggest(dep, known))
			case dep == s.id:
				v.fail(l, "a step cannot depend on itself")
			case seen[dep]:
				v.fail(l, "step %q listed twice", dep)
			default:
				deps[i] = append(deps[i], target.index)
				target.dependents = append(target.dependents, s)
			}
			seen[dep] = true
		}
	}
	if cycles := findCycles(deps); len(cycles) > 0 {
		for _, c := range cycles {
			names := make([]string, len(c))
			for i, n := range c {
				names[i] = p.steps[n].id
			}
			first := p.steps[c[0]]
			v.fail(v.d.locate(first.id, stepPath(first.index).key("depends_on"), stepPath(first.index)),
				"dependency cycle: %s", strings.Join(names, " -> "))
		}
		return // "is it a dependency" means nothing in a cycle
	}
	anc := ancestors(deps)
	for i, s := range p.steps {
		usable := func(id string) (string, bool) {
			dep, ok := p.byID[id]
			switch {
			case !ok:
				return fmt.Sprintf("unknown step %q%s", id, suggest(id, known)), false
			case dep == s:
				return "a step cannot use its own output", false
			case !anc[i][dep.index]:
				return fmt.Sprintf("step %q is not a dependency of step %q (add it to depends_on)", id, s.id), false
			}
			return "", true
		}
		for _, t := range templatesOf(s) {
			for _, r := range t.refs() {
				if r.root != rootStep {
					continue
				}
				if why, ok := usable(r.step); !ok {
					v.errs = append(v.errs, t.loc.err(r.src+": "+why))
				}
			}
		}
		base := stepPath(i).key("input").key("files_from")
		for j, id := range s.filesFrom {
			if why, ok := usable(id); !ok {
				v.fail(v.d.locate(s.id, base.index(j), base, stepPath(i).key("input"), stepPath(i)), "%s", why)
			}
		}
	}
}

// templatesOf lists every template of a step's input.
func templatesOf(s *stepPlan) []*template {
	var out []*template
	if s.text != nil {
		out = append(out, s.text)
	}
	var walk func(valueTemplate)
	walk = func(t valueTemplate) {
		switch t := t.(type) {
		case *template:
			out = append(out, t)
		case objectTemplate:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(t[k])
			}
		case listTemplate:
			for _, e := range t {
				walk(e)
			}
		}
	}
	if s.data != nil {
		walk(s.data)
	}
	return out
}

// outputs compiles Definition.Output; its expressions may use any step.
func (v *validator) outputs(p *plan) {
	names := make([]string, 0, len(v.d.Output))
	for k := range v.d.Output {
		names = append(names, k)
	}
	sort.Strings(names)
	known := make([]string, 0, len(p.byID))
	for id := range p.byID {
		known = append(known, id)
	}
	sort.Strings(known)
	for _, name := range names {
		f := fieldPath("output").key(name)
		l := v.d.locate("", f, "output")
		if strings.TrimSpace(name) == "" {
			v.fail(l, "empty output name")
			continue
		}
		t := v.template(v.d.Output[name], l)
		if t == nil {
			continue
		}
		for _, r := range t.refs() {
			if _, ok := p.byID[r.step]; r.root == rootStep && !ok {
				v.fail(l, "%s: unknown step %q%s", r.src, r.step, suggest(r.step, known))
			}
		}
		p.outputs = append(p.outputs, outputPlan{name: name, t: t})
	}
}

// suggest is a "did you mean" for a misspelt step id, or "".
func suggest(id string, known []string) string {
	if c := closest(id, known); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}
