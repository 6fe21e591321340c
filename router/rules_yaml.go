package router

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// RuleError is an error in a rules document, placed at the line and column
// of the offending key or value and naming its field by path, such as
// "rules[1].policy.retry.max_attempts".
type RuleError struct {
	Line, Column int
	Field        string
	Message      string
}

func (e *RuleError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("router: rules: line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("router: rules: line %d: %s: %s", e.Line, e.Field, e.Message)
}

// ParseRules reads routing rules from YAML:
//
//	rules:
//	  - name: translate            # optional; default rule-<index>
//	    match:                     # optional; empty matches every message
//	      skill: translate         # metadata "skill" (SkillMetadataKey)
//	      part_kind: file          # text, file or data
//	      media_type: application/pdf
//	      metadata: {tier: gold}
//	    capability:                # required; {} means any agent
//	      skill_id: translate
//	      tag: nlp
//	      input_mode: application/pdf
//	      output_mode: text/plain
//	      protocol_binding: GRPC
//	      name: translator
//	      include_unhealthy: false
//	    policy:                    # optional; omitted fields inherit
//	      balance: least_outstanding   # or round_robin
//	      timeout: 5s              # Go duration, or none
//	      shared_state: true
//	      retry:
//	        max_attempts: 3
//	        initial_backoff: 100ms
//	        max_backoff: 2s
//	        multiplier: 2
//	        jitter: 0.2            # or none
//
// Field names are exactly these; an unknown or repeated field is an error,
// as is a value of the wrong type or out of range, each reported as a
// *[RuleError] that names the line and the field. Anchors and aliases may
// share a block between rules; merge keys (<<) are not supported. Only the
// first YAML document is read.
func ParseRules(data []byte) ([]Rule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("router: rules: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &RuleError{Line: 1, Column: 1, Message: "empty document; want a mapping with a rules list"}
	}
	p := &ruleParser{budget: maxRuleNodes}
	var rules []Rule
	var rulesNode *yaml.Node
	err := p.mapping(doc.Content[0], "", []string{"rules"}, func(_ string, v *yaml.Node, path string) error {
		rulesNode = v
		var err error
		rules, err = p.rules(v, path)
		return err
	})
	if err != nil {
		return nil, err
	}
	if rulesNode == nil {
		n := p.deref(doc.Content[0])
		return nil, &RuleError{Line: n.Line, Column: n.Column, Field: "rules", Message: "missing"}
	}
	return rules, nil
}

// maxRuleNodes bounds the nodes a document may make the parser visit,
// aliases counted each time they are followed, so that a small document
// aliasing large blocks many times cannot keep it busy.
const maxRuleNodes = 100_000

type ruleParser struct{ budget int }

func errAt(n *yaml.Node, field, format string, args ...any) *RuleError {
	return &RuleError{Line: n.Line, Column: n.Column, Field: field, Message: fmt.Sprintf(format, args...)}
}

// deref follows aliases and charges the budget.
func (p *ruleParser) deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
		p.budget--
	}
	p.budget--
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// mapping walks the mapping n, calling set for each of its keys, which
// must be among known and appear once. A null value counts as an empty
// mapping, so "policy:" with nothing under it is allowed.
func (p *ruleParser) mapping(n *yaml.Node, path string, known []string, set func(key string, v *yaml.Node, path string) error) error {
	n = p.deref(n)
	if p.budget < 0 {
		return errAt(n, path, "document too large")
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return errAt(n, path, "want a mapping, got %s", kindName(n))
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return errAt(k, path, "want a field name, got %s", kindName(k))
		}
		field := k.Value
		if path != "" {
			field = path + "." + k.Value
		}
		switch {
		case k.Tag == "!!merge":
			return errAt(k, path, "merge keys (<<) are not supported")
		case !slices.Contains(known, k.Value):
			return errAt(k, field, "unknown field (want one of %s)", strings.Join(known, ", "))
		case seen[k.Value]:
			return errAt(k, field, "repeated")
		}
		seen[k.Value] = true
		if err := set(k.Value, v, field); err != nil {
			return err
		}
	}
	return nil
}

func (p *ruleParser) rules(n *yaml.Node, path string) ([]Rule, error) {
	n = p.deref(n)
	if isNull(n) {
		return []Rule{}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, errAt(n, path, "want a list of rules, got %s", kindName(n))
	}
	rules := make([]Rule, 0, len(n.Content))
	names := map[string]int{}
	for i, rn := range n.Content {
		rp := fmt.Sprintf("%s[%d]", path, i)
		r, nameNode, err := p.rule(rn, rp)
		if err != nil {
			return nil, err
		}
		if r.Name != "" {
			if j, dup := names[r.Name]; dup {
				return nil, errAt(nameNode, rp+".name", "%q already names rules[%d]", r.Name, j)
			}
			names[r.Name] = i
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func (p *ruleParser) rule(n *yaml.Node, path string) (Rule, *yaml.Node, error) {
	var r Rule
	var nameNode *yaml.Node
	err := p.mapping(n, path, []string{"name", "match", "capability", "policy"}, func(key string, v *yaml.Node, field string) error {
		var err error
		switch key {
		case "name":
			nameNode = p.deref(v)
			r.Name, err = p.str(v, field)
		case "match":
			r.Match, err = p.match(v, field)
		case "capability":
			r.Capability, err = p.capability(v, field)
		case "policy":
			r.Policy, err = p.policy(v, field)
		}
		return err
	})
	if err != nil {
		return r, nil, err
	}
	if r.Capability == nil {
		return r, nil, errAt(p.deref(n), path+".capability", "missing (use {} for any agent)")
	}
	return r, nameNode, nil
}

func (p *ruleParser) match(n *yaml.Node, path string) (Match, error) {
	var m Match
	err := p.mapping(n, path, []string{"skill", "part_kind", "media_type", "metadata"}, func(key string, v *yaml.Node, field string) error {
		var err error
		switch key {
		case "skill":
			m.Skill, err = p.str(v, field)
		case "part_kind":
			if m.PartKind, err = p.str(v, field); err == nil && !slices.Contains([]string{PartText, PartFile, PartData}, m.PartKind) {
				err = errAt(p.deref(v), field, "%q is none of text, file, data", m.PartKind)
			}
		case "media_type":
			if m.MediaType, err = p.str(v, field); err == nil && !strings.Contains(m.MediaType, "/") {
				err = errAt(p.deref(v), field, "%q is not type/subtype", m.MediaType)
			}
		case "metadata":
			m.Metadata = map[string]string{}
			err = p.metadata(v, field, m.Metadata)
		}
		return err
	})
	return m, err
}

// metadata reads a mapping of free keys to string values.
func (p *ruleParser) metadata(n *yaml.Node, path string, into map[string]string) error {
	n = p.deref(n)
	if p.budget < 0 {
		return errAt(n, path, "document too large")
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return errAt(n, path, "want a mapping, got %s", kindName(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := p.deref(n.Content[i])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			return errAt(k, path, "want a key, got %s", kindName(k))
		}
		field := path + "." + k.Value
		if _, dup := into[k.Value]; dup {
			return errAt(k, field, "repeated")
		}
		v, err := p.str(n.Content[i+1], field)
		if err != nil {
			return err
		}
		into[k.Value] = v
	}
	return nil
}

func (p *ruleParser) capability(n *yaml.Node, path string) (*registryv1.AgentFilter, error) {
	f := &registryv1.AgentFilter{}
	strs := map[string]*string{
		"skill_id": &f.SkillId, "tag": &f.Tag, "input_mode": &f.InputMode, "output_mode": &f.OutputMode,
		"protocol_binding": &f.ProtocolBinding, "name": &f.Name,
	}
	known := []string{"skill_id", "tag", "input_mode", "output_mode", "protocol_binding", "name", "include_unhealthy"}
	err := p.mapping(n, path, known, func(key string, v *yaml.Node, field string) error {
		if key == "include_unhealthy" {
			var err error
			f.IncludeUnhealthy, err = p.boolean(v, field)
			return err
		}
		s, err := p.str(v, field)
		*strs[key] = s
		return err
	})
	return f, err
}

func (p *ruleParser) policy(n *yaml.Node, path string) (Policy, error) {
	var pol Policy
	err := p.mapping(n, path, []string{"balance", "timeout", "retry", "shared_state"}, func(key string, v *yaml.Node, field string) error {
		var err error
		switch key {
		case "balance":
			var s string
			if s, err = p.str(v, field); err != nil {
				return err
			}
			switch s {
			case RoundRobin.String():
				pol.Balance = RoundRobin
			case LeastOutstanding.String():
				pol.Balance = LeastOutstanding
			default:
				return errAt(p.deref(v), field, "%q is neither round_robin nor least_outstanding", s)
			}
		case "timeout":
			pol.Timeout, err = p.duration(v, field, true)
		case "shared_state":
			pol.SharedState, err = p.boolean(v, field)
		case "retry":
			pol.Retry, err = p.retry(v, field)
		}
		return err
	})
	return pol, err
}

func (p *ruleParser) retry(n *yaml.Node, path string) (Retry, error) {
	var r Retry
	var initialNode *yaml.Node
	known := []string{"max_attempts", "initial_backoff", "max_backoff", "multiplier", "jitter"}
	err := p.mapping(n, path, known, func(key string, v *yaml.Node, field string) error {
		var err error
		switch key {
		case "max_attempts":
			var i int
			if i, err = p.integer(v, field); err == nil && i < 1 {
				err = errAt(p.deref(v), field, "%d is below 1", i)
			}
			r.MaxAttempts = i
		case "initial_backoff":
			initialNode = p.deref(v)
			r.InitialBackoff, err = p.duration(v, field, false)
		case "max_backoff":
			r.MaxBackoff, err = p.duration(v, field, false)
		case "multiplier":
			if r.Multiplier, err = p.float(v, field); err == nil && r.Multiplier < 1 {
				err = errAt(p.deref(v), field, "%v is below 1", r.Multiplier)
			}
		case "jitter":
			if vv := p.deref(v); vv.Kind == yaml.ScalarNode && vv.Value == "none" {
				r.Jitter = -1
				return nil
			}
			if r.Jitter, err = p.float(v, field); err == nil && (r.Jitter < 0 || r.Jitter > 1) {
				err = errAt(p.deref(v), field, "%v is not between 0 and 1", r.Jitter)
			}
		}
		return err
	})
	if err == nil && initialNode != nil && r.MaxBackoff > 0 && r.InitialBackoff > r.MaxBackoff {
		err = errAt(initialNode, path+".initial_backoff", "%v is above max_backoff %v", r.InitialBackoff, r.MaxBackoff)
	}
	return r, err
}

// scalar returns n's value, refusing collections and null.
func (p *ruleParser) scalar(n *yaml.Node, path, want string) (*yaml.Node, error) {
	n = p.deref(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return nil, errAt(n, path, "want %s, got %s", want, kindName(n))
	}
	return n, nil
}

func (p *ruleParser) str(n *yaml.Node, path string) (string, error) {
	s, err := p.scalar(n, path, "a string")
	if err != nil {
		return "", err
	}
	return s.Value, nil
}

func (p *ruleParser) boolean(n *yaml.Node, path string) (bool, error) {
	s, err := p.scalar(n, path, "true or false")
	if err != nil {
		return false, err
	}
	var b bool
	if s.Tag != "!!bool" || s.Decode(&b) != nil {
		return false, errAt(s, path, "want true or false, got %q", s.Value)
	}
	return b, nil
}

func (p *ruleParser) integer(n *yaml.Node, path string) (int, error) {
	s, err := p.scalar(n, path, "an integer")
	if err != nil {
		return 0, err
	}
	var i int
	if s.Tag != "!!int" || s.Decode(&i) != nil {
		return 0, errAt(s, path, "want an integer, got %q", s.Value)
	}
	return i, nil
}

func (p *ruleParser) float(n *yaml.Node, path string) (float64, error) {
	s, err := p.scalar(n, path, "a number")
	if err != nil {
		return 0, err
	}
	var f float64
	if (s.Tag != "!!int" && s.Tag != "!!float") || s.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errAt(s, path, "want a number, got %q", s.Value)
	}
	return f, nil
}

// duration reads a positive Go duration ("250ms", "5s", "1m30s"); with
// orNone, "none" is accepted too, as -1 (no bound).
func (p *ruleParser) duration(n *yaml.Node, path string, orNone bool) (time.Duration, error) {
	s, err := p.scalar(n, path, "a duration such as 5s")
	if err != nil {
		return 0, err
	}
	if orNone && s.Value == "none" {
		return -1, nil
	}
	d, perr := time.ParseDuration(s.Value)
	switch {
	case perr != nil:
		return 0, errAt(s, path, "want a duration such as 5s or 250ms, got %q", s.Value)
	case d <= 0 && orNone:
		return 0, errAt(s, path, "%v is not positive (write none for no bound, or leave it out to inherit)", d)
	case d <= 0:
		return 0, errAt(s, path, "%v is not positive (leave it out to inherit)", d)
	}
	return d, nil
}
