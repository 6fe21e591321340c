package auth

import (
	"crypto"
	"sync"
	"time"
)

// Bounds of the verified-token cache.
const (
	// maxCachedTokens bounds memory; a full cache is emptied rather than
	// managed, which only costs a signature check per token once.
	maxCachedTokens = 8192
	// tokenCacheTTL bounds how long a token is trusted without checking
	// its signature again: also how long a key removed from the JWKS keeps
	// working for tokens already seen.
	tokenCacheTTL = 5 * time.Minute
)

// tokenCache remembers bearer tokens that verified, until they expire or
// tokenCacheTTL passes. A signature check costs tens of microseconds and a
// client sends the same token with every call for its whole lifetime; with
// the cache the repeat cost is one map lookup. Only successes are kept: a
// failure is repeated in full, so made-up tokens cannot fill the cache.
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]cachedToken
}

type cachedToken struct {
	p     *Principal
	until time.Time
	// signer is the key that verified the token: a hit counts only while
	// the key set still holds it under the same kid, so a key the issuer
	// rotated out stops working at once, not a TTL later. Empty for HMAC
	// tokens, whose secret cannot change while the server runs.
	signer signer
}

type signer struct {
	kid, alg string
	key      crypto.PublicKey
}

// get returns a copy of the principal of a cached token still valid at now
// (callers may annotate their copy, e.g. with the peer identity), and the
// key that must still be current for the hit to count.
func (c *tokenCache) get(token string, now time.Time) (*Principal, signer, bool) {
	c.mu.RLock()
	e, ok := c.m[token]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil, signer{}, false
	}
	p := *e.p
	return &p, e.signer, true
}

// put caches p for token until its expiry or now+tokenCacheTTL.
func (c *tokenCache) put(token string, p *Principal, s signer, now time.Time) {
	until := now.Add(tokenCacheTTL)
	if !p.Expires.IsZero() && p.Expires.Before(until) {
		until = p.Expires
	}
	cp := *p
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedTokens {
		c.m = make(map[string]cachedToken)
	}
	c.m[token] = cachedToken{p: &cp, until: until, signer: s}
	c.mu.Unlock()
}
