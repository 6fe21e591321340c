package mtls

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AllowList decides which peer identities (see [Identity]) may call.
//
// A pattern is either an exact identity or contains wildcards:
//
//   - "*" matches one or more characters other than "/" and ".", so it
//     stays inside one DNS label or one dot-free piece of a path segment.
//     "*.mesh.local" allows "a.mesh.local" but not "mesh.local",
//     "a.b.mesh.local" or "a.mesh.local.evil.com";
//     "spiffe://example.org/agent/*" allows "spiffe://example.org/agent/a"
//     but not ".../agent/a/b", ".../agent/a.b" or "spiffe://evil.org/agent/a".
//   - "/**" at the very end matches the rest of a path, one or more
//     characters of any kind: "spiffe://example.org/**" allows every SPIFFE
//     ID of that trust domain. "**" anywhere else is an error, so a pattern
//     can never extend a host name ("example.org**").
//
// There is no escape: "*" is always a wildcard. Matching is byte for byte
// and case-sensitive. The wildcard stops at "." as well as "/" so that a
// pattern matches less than one might guess rather than more: a surprise
// denial shows up in testing, a surprise grant does not.
type AllowList struct {
	exact map[string]bool
	globs []glob
}

// NewAllowList compiles patterns. A pattern that is empty, contains white
// space or control characters, is not UTF-8, or misuses "**" is an error.
// No patterns at all make a list that allows every identity.
func NewAllowList(patterns ...string) (*AllowList, error) {
	a := &AllowList{exact: map[string]bool{}}
	for _, p := range patterns {
		if err := checkPattern(p); err != nil {
			return nil, fmt.Errorf("mtls: allow-list pattern %q: %w", p, err)
		}
		if !strings.Contains(p, "*") {
			a.exact[p] = true
			continue
		}
		a.globs = append(a.globs, compileGlob(p))
	}
	return a, nil
}

// Allows reports whether identity matches a pattern. An empty (or nil) list
// allows every identity, so a server without an allow-list admits every
// client its CA vouches for.
func (a *AllowList) Allows(identity string) bool {
	if a == nil || len(a.exact)+len(a.globs) == 0 {
		return true
	}
	if a.exact[identity] {
		return true
	}
	for _, g := range a.globs {
		if g.match(identity) {
			return true
		}
	}
	return false
}

func checkPattern(p string) error {
	if p == "" {
		return errors.New("empty")
	}
	if !utf8.ValidString(p) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range p {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("contains %q", r)
		}
	}
	body := strings.TrimSuffix(p, "/**")
	if strings.Contains(body, "**") {
		return errors.New(`"**" is only allowed as the last path segment ("…/**")`)
	}
	return nil
}

// glob is a compiled wildcard pattern: tokens to match one after another,
// then, if rest is set, one or more arbitrary characters.
type glob struct {
	toks []tok
	rest bool
}

// tok is a literal byte, or for "*" the pair "one separator-free byte" and
// "any number of separator-free bytes", which together mean "one or more".
type tok struct {
	kind byte // tokLit, tokOne or tokMany
	b    byte
}

const (
	tokLit = iota
	tokOne
	tokMany
)

func compileGlob(p string) glob {
	var g glob
	if body, ok := strings.CutSuffix(p, "/**"); ok {
		p, g.rest = body+"/", true
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '*' {
			g.toks = append(g.toks, tok{kind: tokOne}, tok{kind: tokMany})
			continue
		}
		g.toks = append(g.toks, tok{kind: tokLit, b: p[i]})
	}
	return g
}

func isSep(b byte) bool { return b == '/' || b == '.' }

// match runs the pattern as a set of states over s, so the time is
// len(pattern)*len(s) whatever the input, with no backtracking to exploit.
// on[i] means the first i tokens match the part of s read so far.
func (g glob) match(s string) bool {
	n := len(g.toks)
	on := make([]bool, n+1)
	next := make([]bool, n+1)
	on[0] = true
	g.skipMany(on)
	for j := 0; j < len(s); j++ {
		if g.rest && on[n] {
			return true // s[j:] is the non-empty rest
		}
		c := s[j]
		clear(next)
		for i, t := range g.toks {
			if !on[i] {
				continue
			}
			switch t.kind {
			case tokLit:
				next[i+1] = next[i+1] || t.b == c
			case tokOne:
				next[i+1] = next[i+1] || !isSep(c)
			case tokMany:
				next[i] = next[i] || !isSep(c)
			}
		}
		g.skipMany(next)
		on, next = next, on
	}
	return !g.rest && on[n]
}

// skipMany lets a tokMany match nothing: a state before it also holds
// after it.
func (g glob) skipMany(on []bool) {
	for i, t := range g.toks {
		if t.kind == tokMany && on[i] {
			on[i+1] = true
		}
	}
}
