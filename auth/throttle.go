package auth

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/a2agrpc/a2agrpc"
)

// maxThrottledAddrs bounds the failure throttle's memory. Past it, addresses
// whose budget has refilled are forgotten (they are indistinguishable from
// new ones); if every address is still being throttled the table is emptied,
// which an attacker with that many addresses could exploit anyway.
const maxThrottledAddrs = 16384

// failureThrottle limits how often one client address may fail to
// authenticate. Guessing API keys or probing tokens costs an attacker one
// failed call per guess; the per-principal rate limit cannot help, since a
// caller that fails has no principal. Once an address has spent its budget,
// every call from it is refused before any credential is checked, valid or
// not, so a guess that happens to be right is not revealed until the budget
// refills.
type failureThrottle struct {
	perMinute int
	now       func() time.Time

	mu    sync.Mutex
	addrs map[string]*rate.Limiter
}

func newFailureThrottle(perMinute int, now func() time.Time) *failureThrottle {
	return &failureThrottle{perMinute: perMinute, now: now, addrs: map[string]*rate.Limiter{}}
}

// check refuses addr while its budget of failures is spent.
func (f *failureThrottle) check(addr string) error {
	key := addrKey(addr)
	if key == "" {
		return nil
	}
	f.mu.Lock()
	lim := f.addrs[key]
	var wait time.Duration
	if lim != nil {
		now := f.now()
		if lim.TokensAt(now) < 1 {
			// The reservation is cancelled at once: it only measures how
			// long until one failure is allowed again.
			r := lim.ReserveN(now, 1)
			wait = r.DelayFrom(now)
			r.CancelAt(now)
		}
	}
	f.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	return a2agrpc.Errorf(a2agrpc.ReasonResourceExhausted,
		"too many failed authentications from this address; try again in %s", wait.Round(time.Second)).
		WithRetryAfter(wait)
}

// failed spends one failure of addr's budget.
func (f *failureThrottle) failed(addr string) {
	key := addrKey(addr)
	if key == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	lim := f.addrs[key]
	if lim == nil {
		if len(f.addrs) >= maxThrottledAddrs {
			f.forgetRefilledLocked(now)
		}
		lim = rate.NewLimiter(rate.Limit(float64(f.perMinute)/60), f.perMinute)
		f.addrs[key] = lim
	}
	lim.AllowN(now, 1)
}

func (f *failureThrottle) forgetRefilledLocked(now time.Time) {
	for k, lim := range f.addrs {
		if lim.TokensAt(now) >= float64(f.perMinute) {
			delete(f.addrs, k)
		}
	}
	if len(f.addrs) >= maxThrottledAddrs {
		clear(f.addrs)
	}
}

// addrKey is the host part of a network address: a client's port changes
// with every connection, its address does not. Addresses without a host
// (in-process pipes, unix sockets) are not throttled.
func addrKey(addr string) string {
	if addr == "" {
		return ""
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
