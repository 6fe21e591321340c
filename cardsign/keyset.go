package cardsign

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// KeySet is the set of verification keys a client trusts, by kid. It is the
// only source of keys Verify consults: keys named by jku, x5u, x5c or an
// embedded jwk header are never used, since an attacker controls those.
// A KeySet is safe for concurrent use, so keys can be added (rotated in)
// while verifications run.
type KeySet struct {
	mu   sync.RWMutex
	keys map[string]trustedKey
}

// trustedKey optionally pins the algorithm, as a JWK's "alg" member does.
type trustedKey struct {
	pub crypto.PublicKey
	alg string // "" means any algorithm valid for the key type
}

// NewKeySet returns an empty KeySet.
func NewKeySet() *KeySet {
	return &KeySet{keys: make(map[string]trustedKey)}
}

// Add trusts pub for signatures whose protected header names kid. Only
// ECDSA (P-256/384/521), RSA (≥2048 bits) and Ed25519 public keys are
// accepted — never a []byte, so no HMAC secret can enter the set. Re-adding
// the same key under the same kid is a no-op; a different key under an
// existing kid is an error, because silently replacing a trusted key is how
// key-substitution bugs hide.
func (k *KeySet) Add(kid string, pub crypto.PublicKey) error {
	return k.add(kid, pub, "")
}

func (k *KeySet) add(kid string, pub crypto.PublicKey, alg string) error {
	if kid == "" {
		return errors.New("cardsign: empty kid")
	}
	if err := checkPublicKey(pub); err != nil {
		return fmt.Errorf("%w (kid %q)", err, kid)
	}
	if alg != "" && !keyAllowsAlg(pub, alg) {
		return fmt.Errorf("cardsign: alg %q cannot be used with the %T for kid %q", alg, pub, kid)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys == nil {
		k.keys = make(map[string]trustedKey)
	}
	if old, ok := k.keys[kid]; ok {
		if old.alg == alg && publicKeysEqual(old.pub, pub) {
			return nil
		}
		return fmt.Errorf("cardsign: kid %q is already bound to a different key", kid)
	}
	k.keys[kid] = trustedKey{pub: pub, alg: alg}
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func (k *KeySet) lookup(kid string) (trustedKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	tk, ok := k.keys[kid]
	return tk, ok
}

// KeyIDs returns the trusted kids in sorted order.
func (k *KeySet) KeyIDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// LoadKeySet builds a KeySet from files. A file whose content starts with
// '{' is a JWK Set ({"keys":[...]}) or a single JWK, and every key in it
// must carry its kid. Any other file is PEM holding a "PUBLIC KEY",
// "RSA PUBLIC KEY" or "CERTIFICATE" (the first one found is used); its kid
// is the PEM block's "kid" header if present, otherwise the file's base name
// minus its final extension ("keys/2025-06.pem" → "2025-06").
func LoadKeySet(paths ...string) (*KeySet, error) {
	if len(paths) == 0 {
		return nil, errors.New("cardsign: no key files given")
	}
	ks := NewKeySet()
	for _, p := range paths {
		data, err := readKeyFile(p)
		if err != nil {
			return nil, err
		}
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
			if err := ks.addJWKS(trimmed); err != nil {
				return nil, fmt.Errorf("%w (in %s)", err, p)
			}
			continue
		}
		pub, kid, err := parsePublicKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, p)
		}
		if kid == "" {
			base := filepath.Base(p)
			kid = strings.TrimSuffix(base, filepath.Ext(base))
		}
		if err := ks.Add(kid, pub); err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, p)
		}
	}
	return ks, nil
}
