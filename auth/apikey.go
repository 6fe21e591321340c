package auth

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	a2agrpc "github.com/a2agrpc/a2agrpc"
)

const (
	// APIKeyPrefix starts every key NewAPIKey makes, so a leaked key is
	// recognisable by secret scanners and by people reading logs.
	APIKeyPrefix = "a2a_"
	// apiKeyBytes is the key's entropy: 256 bits, beyond any guessing.
	apiKeyBytes = 32
	// MaxAPIKeyLen bounds a presented key; longer ones are refused before
	// hashing so oversized headers cost nothing.
	MaxAPIKeyLen = 512
	// maxAPIKeyNameLen bounds a key's name in the key file.
	maxAPIKeyNameLen = 128

	apiKeyHashPrefix = "sha256:"
)

// NewAPIKey returns a fresh random API key: APIKeyPrefix followed by 32
// random bytes in unpadded base64url. Give it to the client once and store
// only [HashAPIKey] of it.
func NewAPIKey() (string, error) {
	b := make([]byte, apiKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: generating API key: %w", err)
	}
	return APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashAPIKey returns the form of key stored in the key file: "sha256:" and
// the hex SHA-256 of the key.
//
// A fast hash is right here, unlike for passwords: bcrypt and friends exist
// to slow down guessing of low-entropy secrets, but a NewAPIKey key has 256
// random bits, so even a leaked key file cannot be brute-forced, and a slow
// hash would only make every request pay tens of milliseconds of CPU, an
// easy way to overload the server.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return apiKeyHashPrefix + hex.EncodeToString(sum[:])
}

// APIKeys is a set of named, hashed API keys. It is immutable and safe for
// concurrent use; a nil *APIKeys holds no keys.
type APIKeys struct {
	entries []apiKeyEntry
}

type apiKeyEntry struct {
	name string
	hash [sha256.Size]byte
}

// ParseAPIKeys reads a key file: one "name sha256:<hex>" per line, where
// name is made of [A-Za-z0-9._@-] (at most 128 characters) and the hash is
// [HashAPIKey] of the key. '#' starts a comment; blank lines are skipped.
// Names and hashes must be unique: a repeated name would make two keys one
// principal unnoticed, a repeated hash one key two principals.
func ParseAPIKeys(r io.Reader) (*APIKeys, error) {
	k := &APIKeys{}
	names := make(map[string]int)
	hashes := make(map[[sha256.Size]byte]int)
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: want \"name sha256:<hex>\", got %d fields", line, len(fields))
		}
		name, hashText := fields[0], fields[1]
		if err := checkAPIKeyName(name); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		hash, err := parseAPIKeyHash(hashText)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if prev, dup := names[name]; dup {
			return nil, fmt.Errorf("line %d: duplicate name %q (first on line %d)", line, name, prev)
		}
		if prev, dup := hashes[hash]; dup {
			return nil, fmt.Errorf("line %d: same key hash as line %d", line, prev)
		}
		names[name], hashes[hash] = line, line
		k.entries = append(k.entries, apiKeyEntry{name: name, hash: hash})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return k, nil
}

// LoadAPIKeys reads the key file at path (see [ParseAPIKeys]).
func LoadAPIKeys(path string) (*APIKeys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: API keys: %w", err)
	}
	defer f.Close()
	k, err := ParseAPIKeys(f)
	if err != nil {
		return nil, fmt.Errorf("auth: API keys: %s: %w", path, err)
	}
	return k, nil
}

func checkAPIKeyName(name string) error {
	if len(name) > maxAPIKeyNameLen {
		return fmt.Errorf("name longer than %d characters", maxAPIKeyNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '@' || c == '-'
		if !ok {
			return fmt.Errorf("name %q: only letters, digits and . _ @ - are allowed", name)
		}
	}
	return nil
}

func parseAPIKeyHash(s string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	hexText, ok := strings.CutPrefix(s, apiKeyHashPrefix)
	if !ok {
		return h, errors.New(`hash must start with "sha256:" (see HashAPIKey)`)
	}
	if len(hexText) != 2*sha256.Size {
		return h, fmt.Errorf("hash must be %d hex digits, got %d", 2*sha256.Size, len(hexText))
	}
	if _, err := hex.Decode(h[:], []byte(hexText)); err != nil {
		return h, errors.New("hash is not hexadecimal")
	}
	return h, nil
}

// Len returns the number of keys.
func (k *APIKeys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.entries)
}

// Verify returns the principal owning key, or an
// [a2agrpc.ReasonUnauthenticated] error.
//
// The presented key's hash is compared with every stored hash in constant
// time and without stopping at a match, so response timing reveals neither
// which entry matched nor how close a guess came.
func (k *APIKeys) Verify(key string) (*Principal, error) {
	if key == "" {
		return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "missing API key")
	}
	if len(key) > MaxAPIKeyLen {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonUnauthenticated, "API key longer than %d bytes", MaxAPIKeyLen)
	}
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i := range k.Len() {
		eq := subtle.ConstantTimeCompare(sum[:], k.entries[i].hash[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "unknown API key")
	}
	name := k.entries[found].name
	return &Principal{ID: "apikey:" + name, Scheme: SchemeAPIKey, Subject: name}, nil
}
