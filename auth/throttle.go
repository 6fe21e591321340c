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

// take spends one failure of addr's budget before its credentials are
// checked, or refuses addr while the budget is spent. Spending first is
// what bounds concurrent guesses: checking the budget and spending it only
// after a failed verification would let every guess already in flight
// through. The returned func gives the failure back when the call turned
// out not to be one.
func (f *failureThrottle) take(addr string) (refund func(), err error) {
	key := addrKey(addr)
	if key == "" {
		return func() {}, nil
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
	r := lim.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return nil, a2agrpc.Errorf(a2agrpc.ReasonResourceExhausted,
			"too many failed authentications from this address; try again in %s", wait.Round(time.Second)).
			WithRetryAfter(wait)
	}
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		// Cancelled as of when it was made: a reservation cancelled
		// later counts as used and would give nothing back.
		r.CancelAt(now)
	}, nil
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
