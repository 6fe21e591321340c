package auth

import (
	"testing"
	"time"
)

func TestTokenCache(t *testing.T) {
	var c tokenCache
	now := time.Now()
	if _, ok := c.get3("t", now); ok {
		t.Fatal("empty cache hit")
	}
	c.put("t", &Principal{ID: "jwt:#a", Expires: now.Add(time.Minute)}, signer{}, now)
	p, ok := c.get3("t", now)
	if !ok || p.ID != "jwt:#a" {
		t.Fatalf("get = %v, %v", p, ok)
	}
	// Callers annotate their copy; the cached principal stays as it was.
	p.Peer = "spiffe://example.org/agent/x"
	if q, _ := c.get3("t", now); q.Peer != "" {
		t.Errorf("a caller's change leaked into the cache: %q", q.Peer)
	}
	// Never trusted past the token's expiry, nor past the TTL.
	if _, ok := c.get3("t", now.Add(time.Minute)); ok {
		t.Error("hit at the token's expiry")
	}
	c.put("long", &Principal{ID: "jwt:#b", Expires: now.Add(time.Hour)}, signer{}, now)
	if _, ok := c.get3("long", now.Add(tokenCacheTTL)); ok {
		t.Error("hit after the TTL")
	}
	// A full cache starts over rather than growing.
	for i := range maxCachedTokens + 1 {
		c.put(string(rune(i))+"x", &Principal{}, signer{}, now)
	}
	if n := len(c.m); n > maxCachedTokens {
		t.Errorf("cache holds %d tokens, bound %d", n, maxCachedTokens)
	}
}

func (c *tokenCache) get3(token string, now time.Time) (*Principal, bool) {
	p, _, ok := c.get(token, now)
	return p, ok
}
