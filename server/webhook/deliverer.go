package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// storeTimeout bounds the outbox write that records an attempt's outcome.
// It runs even while shutting down, so it must not wait forever.
const storeTimeout = 5 * time.Second

// drainLimit is how much of a response body is read before closing it.
// Reading a small body to the end lets the connection be reused; a receiver
// that sends more is not worth the wait, and the body is never used.
const drainLimit = 64 << 10

// Deliverer sends the push notifications queued in an outbox.
//
// Each attempt ends one of three ways:
//
//   - A 2xx answer acknowledges: the delivery is completed.
//   - A permanent failure completes it at once, undelivered, with a log
//     line: a target the [Policy] refuses, a config that cannot produce a
//     valid request, a 4xx other than 408, 425 and 429 (the receiver
//     understood and rejected this very request, so resending the same
//     bytes cannot help), or a 301/308 (moved for good, and redirects are
//     not followed).
//   - Anything else — network errors, timeouts, 5xx, 408/425/429, other
//     3xx — is retried after an exponential backoff with full jitter,
//     at least as late as a 429 or 503 Retry-After asks (capped at the
//     backoff maximum). The attempt that reaches the maximum gives up and
//     completes the delivery undelivered, with a log line.
//
// Deliveries are claimed under a lease longer than an attempt can take. A
// Deliverer that stops (or dies) between claiming and recording an outcome
// leaves the delivery to come back when the lease expires, to this or any
// other process sharing the store: at-least-once delivery.
type Deliverer struct {
	outbox  taskstore.Outbox
	cfg     config
	client  *http.Client
	wake    chan struct{}
	running atomic.Bool
}

// New returns a Deliverer draining outbox. Call [Deliverer.Run] to start it.
func New(outbox taskstore.Outbox, opts ...Option) *Deliverer {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	co := cfg.client
	co.Timeout = cfg.attemptTimeout
	return &Deliverer{
		outbox: outbox,
		cfg:    cfg,
		client: NewClient(cfg.policy, co),
		wake:   make(chan struct{}, 1),
	}
}

// ValidateURL checks a webhook URL against the Deliverer's policy; see
// [Policy.ValidateURL]. The server calls it when a push config is created.
func (d *Deliverer) ValidateURL(raw string) error { return d.cfg.policy.ValidateURL(raw) }

// Notify tells the Deliverer that deliveries were queued, so it claims them
// now rather than at the next poll. It never blocks, may be called at any
// time from any goroutine, and several calls before the Deliverer gets to
// them count as one.
func (d *Deliverer) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// lease is how long a claimed delivery stays hidden from other claims. It
// covers the attempt and the store write recording its outcome, with as
// much again in slack, so a delivery still being worked on never comes back
// to another claimer.
func (d *Deliverer) lease() time.Duration {
	return 2 * (d.cfg.attemptTimeout + storeTimeout)
}

// Run delivers notifications until ctx is done. It claims due deliveries
// when notified, when a worker frees up while more may be due, and every
// poll interval otherwise; at most the configured concurrency of attempts
// run at once, and it never claims more than it can start right away, so
// claimed deliveries do not wait out their lease in a queue.
//
// Once ctx is done Run claims nothing more, waits for the attempts in
// flight to finish or time out (they are not cut short: an attempt that
// reached the receiver should have its outcome recorded), and returns nil.
// It returns an error only if the Deliverer is already running.
func (d *Deliverer) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("webhook: Deliverer is already running")
	}
	defer d.running.Store(false)
	var inflight sync.WaitGroup
	defer d.client.CloseIdleConnections()
	defer inflight.Wait()

	slots := make(chan struct{}, d.cfg.concurrency) // one token per running attempt
	freed := make(chan struct{}, 1)
	release := func() {
		<-slots
		select {
		case freed <- struct{}{}:
		default:
		}
	}
	poll := time.NewTimer(d.cfg.pollInterval)
	defer poll.Stop()
	claimFailing := false
	for ctx.Err() == nil {
		n := acquire(slots)
		if n == 0 {
			// Every worker is busy; more may be due once one is free.
			select {
			case <-ctx.Done():
			case <-freed:
			}
			continue
		}
		batch, err := d.outbox.ClaimDeliveries(ctx, n, d.lease())
		if len(batch) > n {
			// A store that ignores the limit must not overrun the
			// workers; the surplus comes back when its lease expires.
			batch = batch[:n]
		}
		for range n - len(batch) {
			<-slots
		}
		for _, dl := range batch {
			inflight.Go(func() {
				defer release()
				d.deliver(ctx, dl)
			})
		}
		claimFailing = d.logClaim(ctx, err, claimFailing)
		if err == nil && len(batch) == n {
			continue // the claim was full: there may be more due already
		}
		poll.Reset(d.cfg.pollInterval)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-poll.C:
		}
	}
	return nil
}

// acquire takes every free slot without waiting and says how many it took.
func acquire(slots chan struct{}) int {
	n := 0
	for {
		select {
		case slots <- struct{}{}:
			n++
		default:
			return n
		}
	}
}

// logClaim reports claim failures once when they start and once when they
// stop, rather than at every poll of an unreachable store. It returns
// whether claims are failing now.
func (d *Deliverer) logClaim(ctx context.Context, err error, wasFailing bool) bool {
	switch {
	case err != nil && ctx.Err() != nil:
		return wasFailing // shutting down, not a store problem
	case err != nil && !wasFailing:
		d.cfg.log.Error("webhook: cannot claim deliveries; retrying every poll interval", "err", err)
	case err == nil && wasFailing:
		d.cfg.log.Info("webhook: claiming deliveries again")
	}
	return err != nil
}

// deliver makes one attempt at dl and records its outcome in the outbox.
// Both use a context detached from ctx: shutting down lets the attempt
// finish within its own timeout instead of abandoning a request the
// receiver may already have processed.
func (d *Deliverer) deliver(ctx context.Context, dl taskstore.Delivery) {
	ctx = context.WithoutCancel(ctx)
	res := Result{
		DeliveryID: dl.ID,
		TaskID:     dl.Config.GetTaskId(),
		ConfigID:   dl.Config.GetId(),
		Seq:        dl.Seq,
		Attempt:    dl.Attempts + 1,
	}
	host := hostOf(dl.Config.GetUrl())
	start := time.Now()
	status, header, err := d.send(ctx, dl, host)
	res.Elapsed = time.Since(start)
	v := judge(status, err)
	if err == nil && v != delivered {
		err = statusError(status)
	}
	res.StatusCode, res.Err = status, err

	storeCtx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	var storeErr error
	switch {
	case v == delivered:
		storeErr = d.outbox.CompleteDelivery(storeCtx, dl.ID)
	case v == giveUp || res.Attempt >= d.cfg.maxAttempts:
		res.GaveUp, res.Permanent = true, v == giveUp
		storeErr = d.outbox.CompleteDelivery(storeCtx, dl.ID)
		d.cfg.log.Warn("webhook: giving up on a push notification",
			d.attrs(res, host)...)
	default:
		now := time.Now()
		res.RetryAt = now.Add(d.cfg.backoff.delay(res.Attempt, res.StatusCode, header, now))
		storeErr = d.outbox.RetryDelivery(storeCtx, dl.ID, res.RetryAt)
		if errors.Is(storeErr, taskstore.ErrNotFound) {
			// The config was deleted meanwhile (its deliveries go with
			// it) or another process finished the delivery: nothing
			// left to retry.
			res.RetryAt, storeErr = time.Time{}, nil
		} else {
			d.cfg.log.Debug("webhook: push notification attempt failed; will retry",
				append(d.attrs(res, host), "retry_in", res.RetryAt.Sub(now).Round(time.Millisecond))...)
		}
	}
	if storeErr != nil {
		// The lease will expire and the delivery come back: at worst a
		// duplicate, which receivers must tolerate.
		d.cfg.log.Error("webhook: cannot record a delivery outcome; it will be retried after its lease",
			"delivery_id", dl.ID, "task_id", res.TaskID, "config_id", res.ConfigID, "err", storeErr)
	}
	for _, fn := range d.cfg.onResult {
		fn(res)
	}
}

// attrs are the log attributes of an attempt: identifiers, the receiver's
// host and the outcome, deliberately nothing from the URL path, the token
// or the credentials.
func (d *Deliverer) attrs(res Result, host string) []any {
	a := []any{"delivery_id", res.DeliveryID, "task_id", res.TaskID, "config_id", res.ConfigID, "seq", res.Seq,
		"attempt", res.Attempt, "host", host}
	if res.StatusCode != 0 {
		a = append(a, "status", res.StatusCode)
	}
	if res.Err != nil {
		a = append(a, "err", res.Err)
	}
	return a
}

// send makes the HTTP attempt. It returns the status and headers of the
// answer, whatever the status, or the error that kept an answer from
// arriving, which names the receiver by host only.
func (d *Deliverer) send(ctx context.Context, dl taskstore.Delivery, host string) (int, http.Header, error) {
	if dl.Err != nil {
		return 0, nil, permanent(fmt.Errorf("the queued notification is unreadable: %w", dl.Err))
	}
	cfg := dl.Config
	if cfg == nil {
		return 0, nil, permanent(errors.New("the delivery has no push config"))
	}
	// Repeat the registration check: the policy may have been tightened
	// since, and a config stored by an older version was never checked.
	if err := d.cfg.policy.ValidateURL(cfg.GetUrl()); err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.attemptTimeout)
	defer cancel()
	req, err := newRequest(ctx, cfg, dl.Event)
	if err != nil {
		return 0, nil, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, scrub(err, host)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	return resp.StatusCode, resp.Header, nil
}

// hostOf returns the host[:port] of a URL for logs, or "" if it has none.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
