package webhook

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// backoff spaces out the attempts at a failing webhook. The ceiling doubles
// with every failed attempt up to max, and the actual delay is drawn
// uniformly below the ceiling ("full jitter"): when a receiver comes back
// after an outage, the deliveries that queued up meanwhile arrive spread out
// instead of as one burst at each doubling step.
type backoff struct {
	base, max time.Duration
	// jitter picks the delay in [0, ceiling]; tests replace it to make
	// delays exact.
	jitter func(ceiling time.Duration) time.Duration
}

func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// ceiling is the largest delay after the given failed attempt (from 1).
func (b backoff) ceiling(attempt int) time.Duration {
	c := b.base
	for i := 1; i < attempt && c < b.max; i++ {
		if c > b.max/2 {
			return b.max // doubling would pass max, or overflow
		}
		c *= 2
	}
	return min(c, b.max)
}

// delay returns how long to wait after failed attempt number attempt. A
// receiver that answered 429 or 503 with Retry-After gets at least what it
// asked for, capped at max so that a hostile or buggy header cannot park a
// delivery for days.
func (b backoff) delay(attempt int, status int, h http.Header, now time.Time) time.Duration {
	d := b.jitter(b.ceiling(attempt))
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if ra, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
			d = max(d, min(ra, b.max))
		}
	}
	return d
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). A date in the past means "now".
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		// Too many seconds to count still means "a long time": the caller
		// caps it.
		secs, err := strconv.ParseUint(v, 10, 63)
		if err != nil || secs > uint64(math.MaxInt64/time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
