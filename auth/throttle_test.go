package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
)

// TestFailureThrottleRefills: the budget is per address (whatever the
// port) and refills at its rate.
func TestFailureThrottleRefills(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	f := newFailureThrottle(2, func() time.Time { return now })
	for range 2 {
		if err := f.check("192.0.2.1:1000"); err != nil {
			t.Fatalf("within budget: %v", err)
		}
		f.failed("192.0.2.1:1000")
	}
	err := f.check("192.0.2.1:2000")
	var e *a2agrpc.Error
	if !errors.As(err, &e) || !errors.Is(err, a2agrpc.ErrResourceExhausted) || e.RetryAfter != 30*time.Second {
		t.Fatalf("spent budget, new port: %v (%+v), want RESOURCE_EXHAUSTED retry after 30s", err, e)
	}
	if err := f.check("192.0.2.2:1000"); err != nil {
		t.Fatalf("another address throttled: %v", err)
	}
	now = now.Add(30 * time.Second)
	if err := f.check("192.0.2.1:1000"); err != nil {
		t.Fatalf("after one refill: %v", err)
	}
	if err := f.check(""); err != nil {
		t.Fatalf("no address: %v", err)
	}
}

// TestFailureThrottleBounded: the table never outgrows its bound.
func TestFailureThrottleBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	f := newFailureThrottle(1, func() time.Time { return now })
	for i := range maxThrottledAddrs + 10 {
		f.failed(string(rune('a'+i%26)) + time.Duration(i).String() + ":1")
	}
	if n := len(f.addrs); n > maxThrottledAddrs {
		t.Fatalf("%d addresses kept, bound %d", n, maxThrottledAddrs)
	}
}
