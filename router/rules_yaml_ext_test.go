package router_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/router"
)

const fullRules = `
rules:
  - name: translate
    match:
      skill: translate
      part_kind: file
      media_type: application/pdf
      metadata: {tier: gold, region: eu}
    capability:
      skill_id: translate
      tag: nlp
      input_mode: application/pdf
      output_mode: text/plain
      protocol_binding: GRPC
      name: translator
      include_unhealthy: true
    policy: &fast
      balance: least_outstanding
      timeout: 5s
      shared_state: true
      retry:
        max_attempts: 5
        initial_backoff: 50ms
        max_backoff: 1s
        multiplier: 1.5
        jitter: 0.1
  - name: ocr
    match: {part_kind: file, media_type: "image/*"}
    capability: {skill_id: ocr}
    policy: *fast
  - capability: {}
    policy:
      timeout: none
      retry: {jitter: none}
`

func TestParseRules(t *testing.T) {
	t.Parallel()
	rules, err := router.ParseRules([]byte(fullRules))
	if err != nil {
		t.Fatal(err)
	}
	fast := router.Policy{
		Balance: router.LeastOutstanding, Timeout: 5 * time.Second, SharedState: true,
		Retry: router.Retry{MaxAttempts: 5, InitialBackoff: 50 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 1.5, Jitter: 0.1},
	}
	want := []router.Rule{
		{
			Name: "translate",
			Match: router.Match{Skill: "translate", PartKind: router.PartFile, MediaType: "application/pdf",
				Metadata: map[string]string{"tier": "gold", "region": "eu"}},
			Capability: &registryv1.AgentFilter{SkillId: "translate", Tag: "nlp", InputMode: "application/pdf", OutputMode: "text/plain",
				ProtocolBinding: "GRPC", Name: "translator", IncludeUnhealthy: true},
			Policy: fast,
		},
		{Name: "ocr", Match: router.Match{PartKind: router.PartFile, MediaType: "image/*"}, Capability: &registryv1.AgentFilter{SkillId: "ocr"}, Policy: fast},
		{Capability: &registryv1.AgentFilter{}, Policy: router.Policy{Timeout: -1, Retry: router.Retry{Jitter: -1}}},
	}
	if len(rules) != len(want) {
		t.Fatalf("%d rules, want %d", len(rules), len(want))
	}
	for i := range want {
		g, w := rules[i], want[i]
		if !proto.Equal(g.Capability, w.Capability) {
			t.Errorf("rule %d capability %v, want %v", i, g.Capability, w.Capability)
		}
		g.Capability, w.Capability = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("rule %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	// The rules are valid for a router.
	if _, err := router.New(router.Static(), router.WithRules(rules...)); err != nil {
		t.Errorf("New with the parsed rules: %v", err)
	}
}

func TestParseRulesErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		doc   string
		line  int
		field string
		msg   string
	}{
		{"empty", ``, 1, "", "empty document"},
		{"not_a_mapping", `- a`, 1, "", "want a mapping"},
		{"no_rules", `other: 1`, 1, "other", "unknown field"},
		{"rules_missing", `{}`, 1, "rules", "missing"},
		{"rules_not_a_list", `rules: {a: 1}`, 1, "rules", "want a list"},
		{"rule_not_a_mapping", "rules:\n  - 3", 2, "rules[0]", "want a mapping"},
		{"unknown_rule_field", "rules:\n  - capability: {}\n    weight: 3", 3, "rules[0].weight", "unknown field"},
		{"capability_missing", "rules:\n  - name: a\n    match: {skill: x}", 2, "rules[0].capability", "missing"},
		{"unknown_match_field", "rules:\n  - capability: {}\n    match:\n      skil: x", 4, "rules[0].match.skil", "unknown field"},
		{"bad_part_kind", "rules:\n  - capability: {}\n    match:\n      part_kind: image", 4, "rules[0].match.part_kind", `"image" is none of`},
		{"bad_media_type", "rules:\n  - capability: {}\n    match: {media_type: pdf}", 3, "rules[0].match.media_type", "not type/subtype"},
		{"metadata_list", "rules:\n  - capability: {}\n    match: {metadata: [a]}", 3, "rules[0].match.metadata", "want a mapping"},
		{"metadata_value_map", "rules:\n  - capability: {}\n    match:\n      metadata:\n        k: {a: b}", 5, "rules[0].match.metadata.k", "want a string"},
		{"skill_list", "rules:\n  - capability: {}\n    match: {skill: [a]}", 3, "rules[0].match.skill", "want a string"},
		{"unknown_capability_field", "rules:\n  - capability:\n      skill: x", 3, "rules[0].capability.skill", "unknown field"},
		{"include_unhealthy_string", "rules:\n  - capability: {include_unhealthy: sometimes}", 2, "rules[0].capability.include_unhealthy", "true or false"},
		{"bad_balance", "rules:\n  - capability: {}\n    policy:\n      balance: random", 4, "rules[0].policy.balance", "neither round_robin"},
		{"bad_timeout", "rules:\n  - capability: {}\n    policy:\n      timeout: 5x", 4, "rules[0].policy.timeout", "want a duration"},
		{"number_timeout", "rules:\n  - capability: {}\n    policy:\n      timeout: 5", 4, "rules[0].policy.timeout", "want a duration"},
		{"zero_timeout", "rules:\n  - capability: {}\n    policy:\n      timeout: 0s", 4, "rules[0].policy.timeout", "not positive"},
		{"shared_state_number", "rules:\n  - capability: {}\n    policy: {shared_state: 1}", 3, "rules[0].policy.shared_state", "true or false"},
		{"unknown_retry_field", "rules:\n  - capability: {}\n    policy:\n      retry:\n        attempts: 3", 5, "rules[0].policy.retry.attempts", "unknown field"},
		{"attempts_float", "rules:\n  - capability: {}\n    policy:\n      retry:\n        max_attempts: 2.5", 5, "rules[0].policy.retry.max_attempts", "want an integer"},
		{"attempts_zero", "rules:\n  - capability: {}\n    policy:\n      retry: {max_attempts: 0}", 4, "rules[0].policy.retry.max_attempts", "below 1"},
		{"multiplier_low", "rules:\n  - capability: {}\n    policy:\n      retry: {multiplier: 0.5}", 4, "rules[0].policy.retry.multiplier", "below 1"},
		{"jitter_high", "rules:\n  - capability: {}\n    policy:\n      retry: {jitter: 2}", 4, "rules[0].policy.retry.jitter", "between 0 and 1"},
		{"backoffs_crossed", "rules:\n  - capability: {}\n    policy:\n      retry:\n        max_backoff: 1s\n        initial_backoff: 2s", 6, "rules[0].policy.retry.initial_backoff", "above max_backoff"},
		{"repeated_field", "rules:\n  - capability: {}\n    name: a\n    name: b", 4, "rules[0].name", "repeated"},
		{"duplicate_names", "rules:\n  - {name: a, capability: {}}\n  - {name: a, capability: {}}", 3, "rules[1].name", "already names rules[0]"},
		{"second_rule", "rules:\n  - capability: {}\n  - capability: {}\n    policy: {balance: 3}", 4, "rules[1].policy.balance", "neither"},
		{"merge_key_in_rule", "rules:\n  - capability:\n      <<: {skill_id: x}", 3, "rules[0].capability", "merge keys"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := router.ParseRules([]byte(c.doc))
			var re *router.RuleError
			if !errors.As(err, &re) {
				t.Fatalf("error %v, want a *RuleError", err)
			}
			if re.Line != c.line || re.Field != c.field || !strings.Contains(re.Message, c.msg) {
				t.Errorf("got line %d field %q message %q; want line %d field %q message containing %q",
					re.Line, re.Field, re.Message, c.line, c.field, c.msg)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not name its line", err)
			}
		})
	}
}

// TestParseRulesSyntaxError: the YAML parser's own errors name the line.
func TestParseRulesSyntaxError(t *testing.T) {
	t.Parallel()
	_, err := router.ParseRules([]byte("rules:\n  - capability: {\n"))
	if err == nil || !strings.Contains(err.Error(), "line") {
		t.Fatalf("error %v, want one naming the line", err)
	}
}

// TestParseRulesAliasBomb: aliases repeating a large block cannot make the
// parser walk it without end.
func TestParseRulesAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("rules:\n  - capability: {}\n    match:\n      metadata: &m {")
	for i := range 2000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: v", i)
	}
	b.WriteString("}\n")
	for range 200 {
		b.WriteString("  - {capability: {}, match: {metadata: *m}}\n")
	}
	_, err := router.ParseRules([]byte(b.String()))
	var re *router.RuleError
	if !errors.As(err, &re) || !strings.Contains(re.Message, "too large") {
		t.Fatalf("error %v, want the document refused as too large", err)
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte(fullRules))
	f.Add([]byte("rules:\n  - capability: {}\n"))
	f.Add([]byte("rules: []"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("rules:\n  - &r {capability: {}, match: *r}"))
	f.Add([]byte("rules:\n  - capability: {<<: {a: b}}"))
	f.Add([]byte("rules:\n  - {policy: {retry: {max_attempts: 0x7fffffffffffffff, multiplier: .inf, jitter: .nan}}, capability: {}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := router.ParseRules(data)
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.Capability == nil {
				t.Fatal("a parsed rule has no capability")
			}
		}
	})
}
