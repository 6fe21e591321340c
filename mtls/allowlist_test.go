package mtls_test

import (
	"strings"
	"testing"

	"github.com/a2agrpc/a2agrpc/mtls"
)

func TestAllowList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns []string
		allow    []string
		deny     []string
	}{
		{
			patterns: nil,
			allow:    []string{"anything", "spiffe://evil.org/x", ""},
		},
		{
			patterns: []string{"spiffe://example.org/agent/billing"},
			allow:    []string{"spiffe://example.org/agent/billing"},
			deny:     []string{"spiffe://example.org/agent/billing2", "spiffe://example.org/agent/billin", "spiffe://example.org/agent/billing/x", "SPIFFE://example.org/agent/billing", ""},
		},
		{
			patterns: []string{"spiffe://example.org/agent/*"},
			allow:    []string{"spiffe://example.org/agent/a", "spiffe://example.org/agent/billing-2"},
			deny: []string{
				"spiffe://example.org/agent/", "spiffe://example.org/agent/a/b", "spiffe://example.org/agent/a.b",
				"spiffe://evil.org/agent/a", "spiffe://example.org.evil.org/agent/a", "spiffe://example.org/agentx/a",
			},
		},
		{
			patterns: []string{"*.mesh.local"},
			allow:    []string{"a.mesh.local", "billing-1.mesh.local"},
			deny:     []string{"mesh.local", ".mesh.local", "a.mesh.local.evil.com", "a.b.mesh.local", "amesh.local", "a/b.mesh.local"},
		},
		{
			patterns: []string{"spiffe://example.org/**"},
			allow:    []string{"spiffe://example.org/a", "spiffe://example.org/a/b.c/d"},
			deny:     []string{"spiffe://example.org/", "spiffe://example.org", "spiffe://example.org.evil/a", "spiffe://evil.org/example.org/a"},
		},
		{
			patterns: []string{"spiffe://*.example.org/agent/*-worker"},
			allow:    []string{"spiffe://eu.example.org/agent/x-worker", "spiffe://eu.example.org/agent/a-b-worker"},
			deny:     []string{"spiffe://eu.example.org/agent/-worker", "spiffe://eu.x.example.org/agent/x-worker", "spiffe://eu.example.org/agent/x-worker2"},
		},
		{
			patterns: []string{"alice", "*.mesh.local", "spiffe://example.org/agent/*"},
			allow:    []string{"alice", "b.mesh.local", "spiffe://example.org/agent/c"},
			deny:     []string{"bob", "alice.mesh"},
		},
	}
	for _, tt := range tests {
		a, err := mtls.NewAllowList(tt.patterns...)
		if err != nil {
			t.Fatalf("NewAllowList(%q): %v", tt.patterns, err)
		}
		for _, id := range tt.allow {
			if !a.Allows(id) {
				t.Errorf("%q does not allow %q", tt.patterns, id)
			}
		}
		for _, id := range tt.deny {
			if a.Allows(id) {
				t.Errorf("%q allows %q", tt.patterns, id)
			}
		}
	}
	var nilList *mtls.AllowList
	if !nilList.Allows("x") {
		t.Error("a nil list denies")
	}
}

func TestAllowListRejectsMalformedPatterns(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", " ", "alice bob", "alice\n", "a\tb", "x\x00", "\xff", "**", "example.org**", "spiffe://example.org/**/x", "a/***", "spiffe://*/**a"} {
		if _, err := mtls.NewAllowList("ok", p); err == nil {
			t.Errorf("NewAllowList accepted %q", p)
		} else if !strings.Contains(err.Error(), "mtls: allow-list pattern") {
			t.Errorf("error %q does not name the pattern", err)
		}
	}
}

// FuzzAllowList checks that no pattern or identity panics, that a pattern
// without wildcards allows exactly itself, and that a wildcard never
// crosses "/" or ".".
func FuzzAllowList(f *testing.F) {
	f.Add("spiffe://example.org/agent/*", "spiffe://example.org/agent/a")
	f.Add("*.mesh.local", "a.b.mesh.local")
	f.Add("spiffe://example.org/**", "spiffe://example.org/")
	f.Add("a*b*c", "aXbYc")
	f.Add("**", "")
	f.Fuzz(func(t *testing.T, pattern, identity string) {
		a, err := mtls.NewAllowList(pattern)
		if err != nil {
			return
		}
		got := a.Allows(identity)
		if !strings.Contains(pattern, "*") {
			if !a.Allows(pattern) {
				t.Fatalf("exact pattern %q does not allow itself", pattern)
			}
			if got != (identity == pattern) {
				t.Fatalf("exact pattern %q: Allows(%q) = %v", pattern, identity, got)
			}
			return
		}
		if !a.Allows(pattern) {
			t.Fatalf("pattern %q does not allow itself read literally", pattern)
		}
		// Without "/**" a wildcard never matches "/" or ".", so every
		// separator of the identity comes from the pattern's literals.
		if got && !strings.HasSuffix(pattern, "/**") && seps(pattern) != seps(identity) {
			t.Fatalf("%q allows %q across a separator", pattern, identity)
		}
	})
}

func seps(s string) int { return strings.Count(s, "/") + strings.Count(s, ".") }
