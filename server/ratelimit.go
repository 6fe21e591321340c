package server

import (
	"math"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/a2agrpc/a2agrpc"
)

// limiter gives every caller its own token bucket. It sits in
// [Handler.begin], the one step every operation of every binding goes
// through (each request multiplexed on a mesh stream included), so a caller
// cannot escape its limit by switching bindings.
type limiter struct {
	every rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxIdleBucket is how long a caller's bucket outlives its last call. A
// bucket left idle that long has refilled anyway, so forgetting it changes
// nothing but memory.
const maxIdleBucket = 10 * time.Minute

// maxBuckets bounds the callers tracked at once. Past it, buckets idle for
// a minute are forgotten, and if that frees nothing all are: a flood of
// one-off addresses then resets everyone's budget (failing open) rather
// than growing memory without bound.
const maxBuckets = 100_000

func (l *limiter) forgetIdle(now time.Time) {
	idle := maxIdleBucket
	if len(l.buckets) > maxBuckets {
		idle = time.Minute
	}
	l.sweep = now
	for k, o := range l.buckets {
		if now.Sub(o.seen) > idle {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) > maxBuckets {
		clear(l.buckets)
	}
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{every: rate.Limit(perSecond), burst: max(burst, 1), buckets: make(map[string]*bucket)}
}

// allow takes one token from key's bucket, or says how long to wait.
func (l *limiter) allow(key string, now time.Time) error {
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if len(l.buckets) > maxBuckets || now.Sub(l.sweep) > maxIdleBucket {
		l.forgetIdle(now)
	}
	r := b.lim.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if delay > 0 {
		r.CancelAt(now) // a refused call consumes nothing
	}
	l.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	wait := time.Duration(math.Ceil(delay.Seconds())) * time.Second
	return a2agrpc.Errorf(a2agrpc.ReasonResourceExhausted,
		"rate limit of %g requests/s (burst %d) exceeded; retry in %s", float64(l.every), l.burst, wait).
		WithRetryAfter(wait)
}

// limitKey is whom a call counts against: its principal, or for anonymous
// callers the address they call from.
func limitKey(call *CallInfo) string {
	if call.Caller != "" {
		return "p:" + call.Caller
	}
	switch a := call.Remote.(type) {
	case nil:
		return "a:"
	case *net.TCPAddr:
		if a.IP.To4() == nil && len(a.IP) == net.IPv6len {
			// An IPv6 client usually holds a whole /64: count it as one.
			return "a:" + a.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
		}
		return "a:" + a.IP.String()
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return "a:" + a.String()
		}
		return "a:" + host
	}
}
