package webhook

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoffCeilingDoublesToMax(t *testing.T) {
	b := backoff{base: time.Second, max: 10 * time.Second}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		if got := b.ceiling(i + 1); got != w*time.Second {
			t.Errorf("ceiling(%d) = %v, want %v", i+1, got, w*time.Second)
		}
	}
	huge := backoff{base: time.Hour, max: time.Duration(1<<63 - 1)}
	for attempt := 1; attempt < 200; attempt++ {
		if c := huge.ceiling(attempt); c < time.Hour {
			t.Fatalf("ceiling(%d) = %v overflowed", attempt, c)
		}
	}
}

func TestFullJitterStaysBelowCeiling(t *testing.T) {
	b := backoff{base: 10 * time.Millisecond, max: time.Second, jitter: fullJitter}
	var sum time.Duration
	const n = 2000
	for range n {
		d := b.delay(3, 0, nil, time.Now())
		if d < 0 || d > 40*time.Millisecond {
			t.Fatalf("delay = %v, outside [0, 40ms]", d)
		}
		sum += d
	}
	// Full jitter is uniform: the mean sits near half the ceiling.
	if mean := sum / n; mean < 15*time.Millisecond || mean > 25*time.Millisecond {
		t.Errorf("mean delay = %v, want about 20ms", mean)
	}
	if fullJitter(0) != 0 || fullJitter(-1) != 0 {
		t.Error("fullJitter of a non-positive ceiling is not 0")
	}
}

func TestDelayHonoursRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := backoff{base: time.Millisecond, max: time.Minute, jitter: exactJitter}
	header := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	for _, tc := range []struct {
		status int
		header http.Header
		want   time.Duration
	}{
		{503, header("7"), 7 * time.Second},
		{429, header("7"), 7 * time.Second},
		{429, header(now.Add(30 * time.Second).Format(http.TimeFormat)), 30 * time.Second},
		{429, header("86400"), time.Minute},                // capped
		{429, header("99999999999999999999"), time.Minute}, // absurd, capped
		{429, header(now.Add(-time.Hour).Format(http.TimeFormat)), time.Millisecond},
		{429, header("soon"), time.Millisecond}, // unreadable: backoff
		{429, header("-5"), time.Millisecond},   // invalid: backoff
		{500, header("7"), time.Millisecond},    // only 429 and 503 count
		{503, nil, time.Millisecond},
	} {
		if got := b.delay(1, tc.status, tc.header, now); got != tc.want {
			t.Errorf("delay(%d, %v) = %v, want %v", tc.status, tc.header, got, tc.want)
		}
	}
	// A Retry-After shorter than the backoff does not shorten it.
	slow := backoff{base: 20 * time.Second, max: time.Minute, jitter: exactJitter}
	if got := slow.delay(1, 503, header("1"), now); got != 20*time.Second {
		t.Errorf("short Retry-After: delay = %v, want the 20s backoff", got)
	}
}
