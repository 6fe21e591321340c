package workflow

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// scope is what expressions read: the run's input and the results of the
// steps completed so far.
type scope struct {
	input any
	steps map[string]*stepOutput
}

// stepOutput is what expressions can read of a completed step.
type stepOutput struct {
	status  Status
	taskID  string
	text    string
	data    any
	hasData bool
	files   []*a2av1.Part // for files_from
}

// eval renders the template: the value of its expression when it is a
// single one, otherwise a string.
func (t *template) eval(sc *scope) (any, error) {
	if r := t.whole(); r != nil {
		v, err := r.eval(sc)
		if err != nil {
			return nil, t.loc.err(err.Error())
		}
		return v, nil
	}
	var b strings.Builder
	for _, s := range t.segs {
		if s.ref == nil {
			b.WriteString(s.lit)
			continue
		}
		v, err := s.ref.eval(sc)
		if err != nil {
			return nil, t.loc.err(err.Error())
		}
		b.WriteString(render(v))
	}
	return b.String(), nil
}

// evalString renders the template as a string.
func (t *template) evalString(sc *scope) (string, error) {
	v, err := t.eval(sc)
	if err != nil {
		return "", err
	}
	return render(v), nil
}

// render is how a value appears inside a string: strings as they are,
// anything else as JSON.
func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// eval returns the expression's value.
func (r *ref) eval(sc *scope) (any, error) {
	if r.root == rootInput {
		return walk(r.src, "input", sc.input, r.path)
	}
	out, ok := sc.steps[r.step]
	if !ok {
		// Validation makes this unreachable for well-formed plans.
		return nil, fmt.Errorf("%s: step %q has not completed", r.src, r.step)
	}
	switch r.field {
	case fieldText:
		return out.text, nil
	case fieldTaskID:
		return out.taskID, nil
	case fieldStatus:
		return string(out.status), nil
	}
	if !out.hasData {
		return nil, fmt.Errorf("%s: step %q produced no data part", r.src, r.step)
	}
	return walk(r.src, "steps."+r.step+".output.data", out.data, r.path)
}

// walk follows path into v, a JSON value; name is what v is called in
// errors.
func walk(src, name string, v any, path []selector) (any, error) {
	for _, s := range path {
		switch x := v.(type) {
		case map[string]any:
			if s.isIdx {
				return nil, fmt.Errorf("%s: %s is an object, not a list: index it with a key, not %s", src, name, s)
			}
			next, ok := x[s.key]
			if !ok {
				return nil, fmt.Errorf("%s: %s has no key %q (keys: %s)", src, name, s.key, keyList(x))
			}
			v = next
		case []any:
			if !s.isIdx {
				return nil, fmt.Errorf("%s: %s is a list, not an object: index it with [N], not %s", src, name, s)
			}
			if s.index >= len(x) {
				return nil, fmt.Errorf("%s: %s has %d items, no [%d]", src, name, len(x), s.index)
			}
			v = x[s.index]
		default:
			return nil, fmt.Errorf("%s: %s is %s, which has no %s", src, name, kind(v), s)
		}
		name += s.String()
	}
	return v, nil
}

// keyList lists some of an object's keys, for error messages.
func keyList(m map[string]any) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 10 {
		keys = append(keys[:10], "…")
	}
	return strings.Join(keys, ", ")
}

// kind names a JSON value's type.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, int, int64, json.Number:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// valueTemplate is a JSON value whose strings are templates: the data part
// of a step's input.
type valueTemplate interface {
	eval(sc *scope) (any, error)
}

// literal is a value with no template in it.
type literal struct{ v any }

func (l literal) eval(*scope) (any, error) { return l.v, nil }

type objectTemplate map[string]valueTemplate

func (o objectTemplate) eval(sc *scope) (any, error) {
	out := make(map[string]any, len(o))
	for k, t := range o {
		v, err := t.eval(sc)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

type listTemplate []valueTemplate

func (l listTemplate) eval(sc *scope) (any, error) {
	out := make([]any, len(l))
	for i, t := range l {
		v, err := t.eval(sc)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
