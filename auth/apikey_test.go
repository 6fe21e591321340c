package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	a2agrpc "github.com/a2agrpc/a2agrpc"
)

func TestNewAPIKey(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		key, err := NewAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		rest, ok := strings.CutPrefix(key, APIKeyPrefix)
		if !ok {
			t.Fatalf("key %q lacks prefix %q", key, APIKeyPrefix)
		}
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil {
			t.Fatalf("key %q is not base64url: %v", key, err)
		}
		if len(raw) < 32 {
			t.Fatalf("key has %d random bytes, want >= 32", len(raw))
		}
		if seen[key] {
			t.Fatalf("duplicate key %q", key)
		}
		seen[key] = true
	}
}

func TestHashAPIKey(t *testing.T) {
	// SHA-256("abc") from FIPS 180-2.
	const want = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashAPIKey("abc"); got != want {
		t.Errorf("HashAPIKey(abc) = %s, want %s", got, want)
	}
}

// akWantUnauth asserts err is an Unauthenticated A2A error containing want
// and not repeating key.
func akWantUnauth(t *testing.T, err error, want, key string) {
	t.Helper()
	var ae *a2agrpc.Error
	if !errors.As(err, &ae) || ae.Reason != a2agrpc.ReasonUnauthenticated {
		t.Fatalf("error %v is not an Unauthenticated A2A error", err)
	}
	if !strings.Contains(ae.Message, want) {
		t.Errorf("message %q, want it to contain %q", ae.Message, want)
	}
	if key != "" && strings.Contains(err.Error(), key) {
		t.Errorf("error %q repeats the key", err)
	}
}

func TestAPIKeysRoundTrip(t *testing.T) {
	names := []string{"alice", "ci-bot.prod", "ops_team@example.com"}
	keys := make(map[string]string)
	var file strings.Builder
	file.WriteString("# API keys of the test deployment\n\n")
	for i, name := range names {
		key, err := NewAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = key
		fmt.Fprintf(&file, "  %s\t%s", name, HashAPIKey(key))
		if i == 1 {
			file.WriteString("   # rotated yearly")
		}
		file.WriteString("\n   \n")
	}
	k, err := ParseAPIKeys(strings.NewReader(file.String()))
	if err != nil {
		t.Fatalf("ParseAPIKeys: %v\n%s", err, file.String())
	}
	if k.Len() != len(names) {
		t.Fatalf("Len = %d, want %d", k.Len(), len(names))
	}
	for name, key := range keys {
		p, err := k.Verify(key)
		if err != nil {
			t.Fatalf("Verify(%s's key): %v", name, err)
		}
		want := Principal{ID: "apikey:" + name, Scheme: SchemeAPIKey, Subject: name}
		if p.ID != want.ID || p.Scheme != want.Scheme || p.Subject != want.Subject || p.Claims != nil || !p.Expires.IsZero() {
			t.Errorf("principal %+v, want %+v", *p, want)
		}
	}

	other, _ := NewAPIKey()
	alice := keys["alice"]
	tests := []struct {
		name, key, want string
	}{
		{"wrong key", other, "unknown API key"},
		{"key with a changed character", alice[:len(alice)-1] + string(alice[len(alice)-1]^1), "unknown API key"},
		{"the stored hash itself", HashAPIKey(alice), "unknown API key"},
		{"empty", "", "missing API key"},
		{"oversized", strings.Repeat("k", MaxAPIKeyLen+1), "longer than 512 bytes"},
		{"longest allowed, wrong", strings.Repeat("k", MaxAPIKeyLen), "unknown API key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := k.Verify(tc.key)
			if p != nil {
				t.Fatalf("accepted as %+v", p)
			}
			akWantUnauth(t, err, tc.want, tc.key)
		})
	}
}

func TestAPIKeysEmptyAndNil(t *testing.T) {
	k, err := ParseAPIKeys(strings.NewReader("# nothing yet\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	var nilKeys *APIKeys
	for _, k := range []*APIKeys{k, nilKeys} {
		if k.Len() != 0 {
			t.Errorf("Len = %d", k.Len())
		}
		_, err := k.Verify("a2a_whatever")
		akWantUnauth(t, err, "unknown API key", "")
	}
}

func TestParseAPIKeysErrors(t *testing.T) {
	h1, h2 := HashAPIKey("one"), HashAPIKey("two")
	tests := []struct {
		name, input, want string
	}{
		{"one field", "alice\n", "line 1: want \"name sha256:<hex>\", got 1 fields"},
		{"three fields", "# c\nalice " + h1 + " extra\n", "line 2: want"},
		{"bad name", "\n\nal ice" + "\n", "line 3:"},
		{"name charset", "al!ce " + h1 + "\n", `line 1: name "al!ce": only letters`},
		{"name too long", strings.Repeat("n", 129) + " " + h1, "line 1: name longer than 128"},
		{"no prefix", "alice " + strings.TrimPrefix(h1, "sha256:"), `line 1: hash must start with "sha256:"`},
		{"other algorithm", "alice sha512:" + strings.TrimPrefix(h1, "sha256:"), `line 1: hash must start with "sha256:"`},
		{"short hash", "alice " + h1[:len(h1)-2], "line 1: hash must be 64 hex digits, got 62"},
		{"not hex", "alice sha256:" + strings.Repeat("zz", 32), "line 1: hash is not hexadecimal"},
		{"duplicate name", "alice " + h1 + "\nbob " + h2 + "\nalice " + HashAPIKey("three"), `line 3: duplicate name "alice" (first on line 1)`},
		{"duplicate hash", "alice " + h1 + "\n# same key\nbob " + h1, "line 3: same key hash as line 1"},
		{"duplicate hash, other case", "alice " + h1 + "\nbob sha256:" + strings.ToUpper(h1[7:]), "line 2: same key hash as line 1"},
		{"line too long", "alice " + h1 + "\n" + strings.Repeat("x", 70000), "line 2:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseAPIKeys(strings.NewReader(tc.input))
			if err == nil {
				t.Fatalf("parsed %d keys, want error %q", k.Len(), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseAPIKeysUpperCaseHex(t *testing.T) {
	h := HashAPIKey("secret-key")
	k, err := ParseAPIKeys(strings.NewReader("svc sha256:" + strings.ToUpper(strings.TrimPrefix(h, "sha256:"))))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := k.Verify("secret-key"); err != nil || p.Subject != "svc" {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
}

func TestLoadAPIKeys(t *testing.T) {
	dir := t.TempDir()
	key, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(good, []byte("svc "+HashAPIKey(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := LoadAPIKeys(good)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := k.Verify(key); err != nil || p.ID != "apikey:svc" {
		t.Fatalf("Verify = %+v, %v", p, err)
	}

	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("# ok\nsvc nothash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadAPIKeys(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "line 2:") {
		t.Errorf("error %v, want it to name %s and line 2", err, bad)
	}
	if _, err := LoadAPIKeys(filepath.Join(dir, "missing.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want os.ErrNotExist", err)
	}
}

var akNameRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,128}$`)

// FuzzParseAPIKeys: parsing never panics, errors name a line, and a parsed
// set has valid, unique names and hashes, survives a write/re-parse round
// trip, and verifies a key whose hash the input holds.
func FuzzParseAPIKeys(f *testing.F) {
	const knownKey = "a2a_fuzz-known-key"
	known := HashAPIKey(knownKey)
	for _, seed := range []string{
		"",
		"# comment only\n",
		"alice " + known + "\n",
		"alice " + known + " # trailing\nbob " + HashAPIKey("b") + "\n",
		"alice " + known + "\nalice " + HashAPIKey("b") + "\n",
		"alice " + known + "\nbob " + known + "\n",
		"al ice sha256:00\n",
		"x sha256:" + strings.Repeat("Ab", 32),
		"\r\n\t#\x00\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		k, err := ParseAPIKeys(strings.NewReader(input))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error %q does not name a line", err)
			}
			return
		}
		if k.Len() > strings.Count(input, "\n")+1 {
			t.Fatalf("%d keys from %d lines", k.Len(), strings.Count(input, "\n")+1)
		}
		names := make(map[string]bool)
		hashes := make(map[[32]byte]bool)
		var out strings.Builder
		for _, e := range k.entries {
			if !akNameRE.MatchString(e.name) {
				t.Fatalf("invalid name %q accepted", e.name)
			}
			if names[e.name] || hashes[e.hash] {
				t.Fatalf("duplicate entry %q accepted", e.name)
			}
			names[e.name], hashes[e.hash] = true, true
			fmt.Fprintf(&out, "%s sha256:%x\n", e.name, e.hash)
		}
		again, err := ParseAPIKeys(strings.NewReader(out.String()))
		if err != nil {
			t.Fatalf("re-parse of written keys: %v", err)
		}
		if again.Len() != k.Len() {
			t.Fatalf("re-parse gave %d keys, want %d", again.Len(), k.Len())
		}
		for i := range k.entries {
			if again.entries[i] != k.entries[i] {
				t.Fatalf("entry %d changed in round trip", i)
			}
		}
		p, err := k.Verify(knownKey)
		var wantName string
		for _, e := range k.entries {
			if fmt.Sprintf("sha256:%x", e.hash) == known {
				wantName = e.name
			}
		}
		switch {
		case wantName == "" && err == nil:
			t.Fatalf("known key accepted as %+v without its hash in the set", p)
		case wantName != "" && (err != nil || p.Subject != wantName):
			t.Fatalf("known key: %+v, %v; want %s", p, err, wantName)
		}
	})
}
