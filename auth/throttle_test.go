package auth

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
)

// TestFailureThrottleRefills: the budget is per address (whatever the
// port), refunded calls cost nothing, and it refills at its rate.
func TestFailureThrottleRefills(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	f := newFailureThrottle(2, func() time.Time { return now })
	for range 5 {
		refund, err := f.take("192.0.2.1:999")
		if err != nil {
			t.Fatalf("refunded calls spent the budget: %v", err)
		}
		refund()
	}
	for range 2 {
		if _, err := f.take("192.0.2.1:1000"); err != nil {
			t.Fatalf("within budget: %v", err)
		}
	}
	_, err := f.take("192.0.2.1:2000")
	var e *a2agrpc.Error
	if !errors.As(err, &e) || !errors.Is(err, a2agrpc.ErrResourceExhausted) || e.RetryAfter != 30*time.Second {
		t.Fatalf("spent budget, new port: %v (%+v), want RESOURCE_EXHAUSTED retry after 30s", err, e)
	}
	if _, err := f.take("192.0.2.2:1000"); err != nil {
		t.Fatalf("another address throttled: %v", err)
	}
	now = now.Add(30 * time.Second)
	if _, err := f.take("192.0.2.1:1000"); err != nil {
		t.Fatalf("after one refill: %v", err)
	}
	if _, err := f.take(""); err != nil {
		t.Fatalf("no address: %v", err)
	}
}

// TestFailureThrottleConcurrentGuesses: guesses in flight at once cannot
// outrun the budget, since each spends it before being checked.
func TestFailureThrottleConcurrentGuesses(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	f := newFailureThrottle(5, func() time.Time { return now })
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.take("192.0.2.9:1"); err == nil {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if admitted != 5 {
		t.Fatalf("%d concurrent guesses admitted, budget 5", admitted)
	}
}

// TestFailureThrottleBounded: the table never outgrows its bound.
func TestFailureThrottleBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	f := newFailureThrottle(1, func() time.Time { return now })
	for i := range maxThrottledAddrs + 10 {
		_, _ = f.take("198.51.100." + strconv.Itoa(i) + ":1")
	}
	if n := len(f.addrs); n > maxThrottledAddrs {
		t.Fatalf("%d addresses kept, bound %d", n, maxThrottledAddrs)
	}
}
