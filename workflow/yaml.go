package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// Parse reads a workflow definition from YAML (the format is described in
// the package documentation) and validates it. Every error is an *Error
// naming the line, column and field at fault; several are joined with
// errors.Join.
func Parse(data []byte) (*Definition, error) { return parse("", data) }

// Load is [Parse] for a file: its errors begin with the file's name, like
// "flow.yaml:12:7: steps[1].depends_on[0]: unknown step "sumarize"".
func Load(path string) (*Definition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, data)
}

func parse(file string, data []byte) (*Definition, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Msg: "empty document: expected a workflow"}
		}
		return nil, syntaxError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		l := extra.Line
		if err != nil {
			return nil, syntaxError(file, err)
		}
		return nil, &Error{File: file, Line: l, Msg: "a second YAML document: a file holds one workflow"}
	}
	d := &decoder{file: file, pos: positions{}}
	def := d.definition(&doc)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	def.file, def.pos = file, d.pos
	if err := def.Validate(); err != nil {
		return nil, err
	}
	return def, nil
}

// yamlLine finds the line in yaml.v3's error messages ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "YAML: " + m[2]}
	}
	return &Error{File: file, Msg: strings.Replace(msg, "yaml: ", "YAML: ", 1)}
}

// decoder turns the YAML node tree into a Definition, recording where
// each field was and collecting every error.
type decoder struct {
	file string
	pos  positions
	errs []error
}

func (d *decoder) fail(n *yaml.Node, path fieldPath, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Column: n.Column, Field: string(path), Msg: fmt.Sprintf(format, args...)})
}

// kindName describes a node for "expected X, got Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a " + n.ShortTag()
}

// null reports whether n is absent in effect ("key:" with no value), which
// every optional field accepts as "not given".
func null(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// fields walks a mapping, calling the handler of each known key with its
// value; unknown and repeated keys are errors.
func (d *decoder) fields(n *yaml.Node, path fieldPath, handlers map[string]func(*yaml.Node, fieldPath)) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "expected a field name, got %s", kindName(k))
			continue
		}
		name := k.Value
		h, ok := handlers[name]
		switch {
		case !ok:
			d.fail(k, path.key(name), "unknown field %q (known: %s)", name, known(handlers))
			continue
		case seen[name]:
			d.fail(k, path.key(name), "field %q given twice", name)
			continue
		}
		seen[name] = true
		d.pos[path.key(name)] = position{v.Line, v.Column}
		if v.Kind == yaml.AliasNode {
			d.fail(v, path.key(name), "YAML aliases are not supported")
			continue
		}
		h(v, path.key(name))
	}
}

func known(handlers map[string]func(*yaml.Node, fieldPath)) string {
	names := make([]string, 0, len(handlers))
	for k := range handlers {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (d *decoder) definition(doc *yaml.Node) *Definition {
	def := &Definition{}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.pos[""] = position{root.Line, root.Column}
	d.fields(root, "", map[string]func(*yaml.Node, fieldPath){
		"name": func(n *yaml.Node, p fieldPath) { def.Name = d.str(n, p) },
		"steps": func(n *yaml.Node, p fieldPath) {
			d.list(n, p, func(n *yaml.Node, p fieldPath) { def.Steps = append(def.Steps, d.step(n, p)) })
		},
		"output": func(n *yaml.Node, p fieldPath) { def.Output = d.output(n, p) },
	})
	return def
}

func (d *decoder) step(n *yaml.Node, path fieldPath) Step {
	var s Step
	d.pos[path] = position{n.Line, n.Column}
	d.fields(n, path, map[string]func(*yaml.Node, fieldPath){
		"id":         func(n *yaml.Node, p fieldPath) { s.ID = d.str(n, p) },
		"agent":      func(n *yaml.Node, p fieldPath) { s.Target.Agent = d.str(n, p) },
		"capability": func(n *yaml.Node, p fieldPath) { s.Target.Capability = d.filter(n, p) },
		"depends_on": func(n *yaml.Node, p fieldPath) { s.DependsOn = d.strs(n, p) },
		"input":      func(n *yaml.Node, p fieldPath) { s.Input = d.input(n, p) },
		"timeout":    func(n *yaml.Node, p fieldPath) { s.Timeout = d.duration(n, p) },
		"retry": func(n *yaml.Node, p fieldPath) {
			if null(n) {
				return
			}
			d.fields(n, p, map[string]func(*yaml.Node, fieldPath){
				"max_attempts": func(n *yaml.Node, p fieldPath) { s.Retry.MaxAttempts = d.int(n, p) },
				"backoff":      func(n *yaml.Node, p fieldPath) { s.Retry.Backoff = d.duration(n, p) },
			})
		},
	})
	return s
}

func (d *decoder) filter(n *yaml.Node, path fieldPath) *registryv1.AgentFilter {
	if null(n) {
		return nil
	}
	f := &registryv1.AgentFilter{}
	d.fields(n, path, map[string]func(*yaml.Node, fieldPath){
		"skill_id":          func(n *yaml.Node, p fieldPath) { f.SkillId = d.str(n, p) },
		"tag":               func(n *yaml.Node, p fieldPath) { f.Tag = d.str(n, p) },
		"input_mode":        func(n *yaml.Node, p fieldPath) { f.InputMode = d.str(n, p) },
		"output_mode":       func(n *yaml.Node, p fieldPath) { f.OutputMode = d.str(n, p) },
		"protocol_binding":  func(n *yaml.Node, p fieldPath) { f.ProtocolBinding = d.str(n, p) },
		"name":              func(n *yaml.Node, p fieldPath) { f.Name = d.str(n, p) },
		"include_unhealthy": func(n *yaml.Node, p fieldPath) { f.IncludeUnhealthy = d.bool(n, p) },
	})
	return f
}

// input reads a step's input: a mapping, or a string standing for
// {text: <string>}.
func (d *decoder) input(n *yaml.Node, path fieldPath) Input {
	var in Input
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		in.Text = n.Value
		d.pos[path.key("text")] = position{n.Line, n.Column}
		return in
	}
	if null(n) {
		return in
	}
	d.fields(n, path, map[string]func(*yaml.Node, fieldPath){
		"text":       func(n *yaml.Node, p fieldPath) { in.Text = d.str(n, p) },
		"data":       func(n *yaml.Node, p fieldPath) { in.Data = d.value(n, p) },
		"files_from": func(n *yaml.Node, p fieldPath) { in.FilesFrom = d.strs(n, p) },
	})
	return in
}

func (d *decoder) output(n *yaml.Node, path fieldPath) map[string]string {
	if null(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping of output names to templates, got %s", kindName(n))
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "expected an output name, got %s", kindName(k))
			continue
		}
		p := path.key(k.Value)
		if _, dup := out[k.Value]; dup {
			d.fail(k, p, "output %q given twice", k.Value)
			continue
		}
		d.pos[p] = position{v.Line, v.Column}
		out[k.Value] = d.str(v, p)
	}
	return out
}

// list calls each for every item of a sequence.
func (d *decoder) list(n *yaml.Node, path fieldPath, each func(*yaml.Node, fieldPath)) {
	if null(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "expected a list, got %s", kindName(n))
		return
	}
	for i, item := range n.Content {
		p := path.index(i)
		d.pos[p] = position{item.Line, item.Column}
		if item.Kind == yaml.AliasNode {
			d.fail(item, p, "YAML aliases are not supported")
			continue
		}
		each(item, p)
	}
}

func (d *decoder) str(n *yaml.Node, path fieldPath) string {
	if null(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.fail(n, path, "expected a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

func (d *decoder) strs(n *yaml.Node, path fieldPath) []string {
	var out []string
	d.list(n, path, func(n *yaml.Node, p fieldPath) { out = append(out, d.str(n, p)) })
	return out
}

func (d *decoder) int(n *yaml.Node, path fieldPath) int {
	if null(n) {
		return 0
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.fail(n, path, "expected an integer, got %s", kindName(n))
		return 0
	}
	return v
}

func (d *decoder) bool(n *yaml.Node, path fieldPath) bool {
	if null(n) {
		return false
	}
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.fail(n, path, "expected true or false, got %s", kindName(n))
		return false
	}
	return v
}

// duration reads a Go duration string ("30s", "1m30s").
func (d *decoder) duration(n *yaml.Node, path fieldPath) time.Duration {
	if null(n) {
		return 0
	}
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		d.fail(n, path, "expected a duration such as \"30s\", got %s", kindName(n))
		return 0
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.fail(n, path, "bad duration %q: use a number with a unit, such as \"500ms\", \"30s\" or \"2m\"", n.Value)
		return 0
	}
	return v
}

// value reads free-form data as JSON values: mappings with string keys,
// lists, strings, numbers (float64), booleans and null.
func (d *decoder) value(n *yaml.Node, path fieldPath) any {
	d.pos[path] = position{n.Line, n.Column}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				d.fail(k, path, "expected a string key, got %s", kindName(k))
				continue
			}
			if _, dup := m[k.Value]; dup {
				d.fail(k, path.key(k.Value), "key %q given twice", k.Value)
				continue
			}
			m[k.Value] = d.value(v, path.key(k.Value))
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, item := range n.Content {
			l[i] = d.value(item, path.index(i))
		}
		return l
	case yaml.AliasNode:
		d.fail(n, path, "YAML aliases are not supported")
		return nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int", "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	case "!!str", "!!timestamp":
		return n.Value
	}
	d.fail(n, path, "%s is not a JSON value", kindName(n))
	return nil
}
