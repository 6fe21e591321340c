package mtls

import (
	"crypto/x509"
	"sync"
	"time"
)

// maxVerifiedPeers bounds the verified-certificate cache of one snapshot.
// A mesh has far fewer distinct client certificates than this; when a
// flood of one-off certificates fills it, it is simply emptied.
const maxVerifiedPeers = 4096

// verifiedPeers remembers the client certificates that verified against
// one snapshot's CA pool. Full chain verification costs tens of
// microseconds of signature checks, and a gRPC connection presents the
// same certificate on every call; the cache makes the repeat cost one map
// lookup. It lives in the snapshot, so reloading the CA bundle forgets
// everything verified against the old one.
type verifiedPeers struct {
	mu sync.RWMutex
	m  map[string]verifiedPeer // key: the leaf's DER
}

// verifiedPeer is a leaf that verified, its identity, and the window in
// which every certificate of its chain is valid.
type verifiedPeer struct {
	id                  string
	notBefore, notAfter time.Time
}

// lookup returns the identity of leaf if it verified before and its chain
// is still valid at now.
func (v *verifiedPeers) lookup(leaf *x509.Certificate, now time.Time) (string, bool) {
	v.mu.RLock()
	p, ok := v.m[string(leaf.Raw)]
	v.mu.RUnlock()
	if !ok || now.Before(p.notBefore) || now.After(p.notAfter) {
		return "", false
	}
	return p.id, true
}

// remember records a leaf that verified through chain.
func (v *verifiedPeers) remember(leaf *x509.Certificate, chain []*x509.Certificate, id string) {
	p := verifiedPeer{id: id, notBefore: leaf.NotBefore, notAfter: leaf.NotAfter}
	for _, c := range chain {
		if c.NotBefore.After(p.notBefore) {
			p.notBefore = c.NotBefore
		}
		if c.NotAfter.Before(p.notAfter) {
			p.notAfter = c.NotAfter
		}
	}
	v.mu.Lock()
	if v.m == nil || len(v.m) >= maxVerifiedPeers {
		v.m = make(map[string]verifiedPeer)
	}
	v.m[string(leaf.Raw)] = p
	v.mu.Unlock()
}
