package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Result reports one delivery attempt to the [WithOnResult] hook: for
// metrics, and for tests that wait for outcomes instead of sleeping. It
// carries no URL, token or credentials.
type Result struct {
	DeliveryID int64
	TaskID     string
	ConfigID   string
	Seq        int64
	// Attempt numbers this attempt, from 1.
	Attempt int
	// StatusCode is the receiver's HTTP status; 0 if no response arrived.
	StatusCode int
	// Err is nil when the receiver acknowledged the notification.
	Err     error
	Elapsed time.Duration
	// RetryAt is when the next attempt is due; zero if none is scheduled.
	RetryAt time.Time
	// GaveUp is set when the notification was dropped undelivered: the
	// failure was permanent, or this was the last allowed attempt.
	GaveUp bool
	// Permanent is set when the failure was judged permanent (see
	// [Deliverer]); such a delivery is given up at once.
	Permanent bool
}

// Delivered reports whether the receiver acknowledged the notification.
func (r Result) Delivered() bool { return r.Err == nil }

// verdict is what an attempt's outcome means for the delivery.
type verdict int

const (
	delivered verdict = iota
	retry             // try again later, if attempts remain
	giveUp            // the same request would fail the same way again
)

// permanentError marks a failure no retry can fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(err error) error { return permanentError{err} }

// judge maps an attempt's transport error or status code to a verdict.
//
// Transport failures (refused connection, reset, timeout, TLS) are retried:
// receivers restart and networks heal. Refused targets and malformed
// requests are permanent.
//
// For statuses the rule follows HTTP semantics: 2xx acknowledges. A 4xx
// means the receiver understood the request and rejects it as such —
// unknown path, bad credentials, gone — so repeating the same bytes cannot
// succeed; it is permanent, except 408 (timeout), 425 (too early) and 429
// (rate limited), which invite a retry. 301 and 308 say the URL moved for
// good, and redirects are never followed, so they are permanent too; other
// 3xx (302, 303, 307) may be a temporary detour such as a maintenance page
// and are retried. 5xx and anything unexpected are retried.
func judge(status int, err error) verdict {
	if err != nil {
		var p permanentError
		if errors.As(err, &p) || errors.Is(err, ErrRefused) || errors.Is(err, ErrInvalidURL) {
			return giveUp
		}
		return retry
	}
	switch {
	case status >= 200 && status <= 299:
		return delivered
	case status == http.StatusMovedPermanently || status == http.StatusPermanentRedirect:
		return giveUp
	case status == http.StatusRequestTimeout || status == http.StatusTooEarly || status == http.StatusTooManyRequests:
		return retry
	case status >= 400 && status <= 499:
		return giveUp
	}
	return retry
}

// statusError describes a non-2xx answer.
func statusError(status int) error {
	return fmt.Errorf("receiver answered %d %s", status, http.StatusText(status))
}

// scrub rewrites a client error so it names the receiver by host only.
// net/http's *url.Error quotes the full URL, whose path or query may be a
// secret (many webhook services put the key there).
func scrub(err error, host string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("POST to %s: %w", host, err)
}
