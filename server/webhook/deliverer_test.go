package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// exactJitter makes every backoff delay its ceiling, so delays are known.
func exactJitter(c time.Duration) time.Duration { return c }

func TestDeliverEndToEnd(t *testing.T) {
	rc := newReceiver(t, nil)
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{
		Id: "c1", Url: rc.url(testSecretPath + "?k=v"), Token: testToken,
		Authentication: &a2av1.AuthenticationInfo{Scheme: "Bearer", Credentials: testCredentials},
	})
	ev, seq := pushEvent(t, s, "t1", "hello")
	h := start(t, s)

	r := h.next(t)
	if !r.Delivered() || r.Attempt != 1 || r.StatusCode != 200 || r.GaveUp || !r.RetryAt.IsZero() ||
		r.TaskID != "t1" || r.ConfigID != "c1" || r.Seq != seq {
		t.Fatalf("result = %+v; want delivered t1/c1 seq %d at the first attempt", r, seq)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.Method != http.MethodPost || got.Path != testSecretPath || got.Query != "k=v" {
		t.Errorf("request = %s %s?%s", got.Method, got.Path, got.Query)
	}
	for header, want := range map[string]string{
		"Content-Type":             "application/a2a+json",
		"Authorization":            "Bearer " + testCredentials,
		"X-A2a-Notification-Token": testToken,
		"A2a-Notification-Token":   testToken,
	} {
		if v := got.Header.Values(header); len(v) != 1 || v[0] != want {
			t.Errorf("header %s = %q, want [%q]", header, v, want)
		}
	}
	// The body is one StreamResponse, no envelope: its only key is the
	// payload's.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(got.Body, &keys); err != nil || len(keys) != 1 || keys["statusUpdate"] == nil {
		t.Errorf("body = %s; want one object with only statusUpdate", got.Body)
	}
	var back a2av1.StreamResponse
	if err := a2ajson.Unmarshal(got.Body, &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&back, ev) {
		t.Errorf("body decodes to %v, want %v", &back, ev)
	}
	assertNoneDue(t, s)
}

func TestNotifyWakesWithoutPolling(t *testing.T) {
	rc := newReceiver(t, nil)
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: rc.url("/hook")})
	// With an hour between polls, only Notify can get these delivered
	// within the test's timeout.
	h := start(t, s, WithPollInterval(time.Hour))
	for i := range 3 {
		_, seq := pushEvent(t, s, "t1", fmt.Sprint("event ", i))
		h.d.Notify()
		if r := h.next(t); !r.Delivered() || r.Seq != seq {
			t.Fatalf("result = %+v, want seq %d delivered", r, seq)
		}
	}
	if n := len(rc.requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 3", n)
	}
}

func TestRetryUntilReceiverRecovers(t *testing.T) {
	const failures = 3
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= failures {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: rc.url("/hook")})
	pushEvent(t, s, "t1", "hello")
	h := start(t, s, withJitter(exactJitter), WithBackoff(20*time.Millisecond, time.Second))

	results := h.until(t, Result.Delivered)
	if len(results) != failures+1 {
		t.Fatalf("results = %+v; want %d failures then success", results, failures)
	}
	for i, r := range results[:failures] {
		if r.Attempt != i+1 || r.StatusCode != 503 || r.Err == nil || r.GaveUp || r.RetryAt.IsZero() {
			t.Errorf("result %d = %+v; want attempt %d failed with 503, retry scheduled", i, r, i+1)
		}
	}
	if last := results[failures]; last.Attempt != failures+1 || last.StatusCode != 200 {
		t.Errorf("final result = %+v", last)
	}
	// Attempts are spaced by the doubling backoff: 20, 40, 80 ms.
	reqs := rc.requests()
	if len(reqs) != failures+1 {
		t.Fatalf("receiver got %d requests, want %d", len(reqs), failures+1)
	}
	for i := 1; i < len(reqs); i++ {
		gap, want := reqs[i].At.Sub(reqs[i-1].At), 20*time.Millisecond<<(i-1)
		if gap < want {
			t.Errorf("gap before attempt %d = %v, want at least %v", i+1, gap, want)
		}
	}
	assertNoneDue(t, s)
}

func TestRetryWhileReceiverIsDown(t *testing.T) {
	// Reserve a loopback port and close it: connections are refused until
	// a server listens there again.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: "http://" + addr + "/hook"})
	pushEvent(t, s, "t1", "hello")
	h := start(t, s, WithBackoff(10*time.Millisecond, 20*time.Millisecond))
	for i := range 2 {
		r := h.next(t)
		if r.Delivered() || r.StatusCode != 0 || r.GaveUp || r.Attempt != i+1 {
			t.Fatalf("result while down = %+v; want a retried transport failure", r)
		}
		if strings.Contains(r.Err.Error(), "/hook") {
			t.Errorf("error %q quotes the URL path", r.Err)
		}
	}

	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	var got atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got.Add(1) })}
	go srv.Serve(l)
	defer srv.Close()

	results := h.until(t, Result.Delivered)
	if r := results[len(results)-1]; r.Attempt < 3 {
		t.Errorf("delivered at attempt %d, want >= 3", r.Attempt)
	}
	if got.Load() != 1 {
		t.Errorf("receiver got %d requests after coming up, want 1", got.Load())
	}
	h.stop()
}

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "3600") // an hour: capped to the backoff max
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: rc.url("/hook")})
	pushEvent(t, s, "t1", "hello")
	const maxDelay = 150 * time.Millisecond
	h := start(t, s, WithBackoff(time.Millisecond, maxDelay))

	first := h.next(t)
	if first.StatusCode != 429 || first.RetryAt.IsZero() {
		t.Fatalf("first result = %+v, want a 429 scheduled for retry", first)
	}
	h.until(t, Result.Delivered)
	reqs := rc.requests()
	if gap := reqs[1].At.Sub(reqs[0].At); gap < maxDelay || gap > 5*time.Second {
		t.Errorf("gap after Retry-After = %v, want the %v cap (not the 1 ms backoff, not an hour)", gap, maxDelay)
	}
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	rc := newReceiver(t, status(http.StatusInternalServerError))
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{
		Id: "c1", Url: rc.url(testSecretPath + "?key=" + testToken), Token: testToken,
		Authentication: &a2av1.AuthenticationInfo{Scheme: "Basic", Credentials: testCredentials},
	})
	pushEvent(t, s, "t1", "hello")
	h := start(t, s, WithMaxAttempts(3))

	results := h.until(t, func(r Result) bool { return r.GaveUp })
	if len(results) != 3 {
		t.Fatalf("results = %+v, want 3 attempts", results)
	}
	last := results[2]
	if last.Attempt != 3 || last.Permanent || last.StatusCode != 500 || !last.RetryAt.IsZero() {
		t.Errorf("last result = %+v; want attempt 3 given up, not permanent", last)
	}
	if n := len(rc.requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 3", n)
	}
	assertNoneDue(t, s)
	h.stop()

	logs := h.logs.String()
	if !strings.Contains(logs, "giving up") || !strings.Contains(logs, "task_id=t1") {
		t.Errorf("no give-up log line naming the task:\n%s", logs)
	}
	for _, secret := range []string{testToken, testCredentials, testSecretPath} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains secret %q:\n%s", secret, logs)
		}
	}
}

func TestPermanentAndRetriedStatuses(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{400, true}, {401, true}, {403, true}, {404, true}, {410, true}, {422, true},
		{301, true}, {308, true},
		{302, false}, {307, false}, {408, false}, {425, false}, {429, false},
		{500, false}, {502, false}, {503, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				if tc.status >= 300 && tc.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
			})
			s := taskstore.NewMemory()
			newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: rc.url("/hook")})
			pushEvent(t, s, "t1", "hello")
			h := start(t, s, WithMaxAttempts(2))

			results := h.until(t, func(r Result) bool { return r.GaveUp })
			want := 2
			if tc.permanent {
				want = 1
			}
			last := results[len(results)-1]
			if len(results) != want || last.Permanent != tc.permanent || last.StatusCode != tc.status {
				t.Errorf("results = %+v; want %d attempt(s), permanent=%v", results, want, tc.permanent)
			}
			for _, r := range rc.requests() {
				if r.Path != "/hook" {
					t.Errorf("request to %s: a redirect was followed", r.Path)
				}
			}
			if n := len(rc.requests()); n != want {
				t.Errorf("receiver got %d requests, want %d", n, want)
			}
		})
	}
}

func TestAttemptTimeout(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-r.Context().Done() // hang until the client gives up
		}
	})
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: rc.url("/hook")})
	pushEvent(t, s, "t1", "hello")
	const timeout = 150 * time.Millisecond
	h := start(t, s, WithAttemptTimeout(timeout))

	first := h.next(t)
	var ne net.Error
	timedOut := errors.Is(first.Err, context.DeadlineExceeded) || errors.As(first.Err, &ne) && ne.Timeout()
	if !timedOut || first.GaveUp || first.RetryAt.IsZero() {
		t.Fatalf("first result = %+v; want a timeout, retried", first)
	}
	if first.Elapsed < timeout || first.Elapsed > 5*time.Second {
		t.Errorf("hung attempt took %v, want about %v", first.Elapsed, timeout)
	}
	if second := h.next(t); !second.Delivered() || second.Attempt != 2 {
		t.Errorf("second result = %+v, want delivered at attempt 2", second)
	}
}

func TestDeletedConfigIsNeverSent(t *testing.T) {
	gone := newReceiver(t, nil)
	flaky := newReceiver(t, status(http.StatusServiceUnavailable))
	kept := newReceiver(t, nil)
	s := taskstore.NewMemory()
	ctx := context.Background()
	newTask(t, s, "t1",
		&a2av1.TaskPushNotificationConfig{Id: "gone", Url: gone.url("/hook")},
		&a2av1.TaskPushNotificationConfig{Id: "flaky", Url: flaky.url("/hook")},
		&a2av1.TaskPushNotificationConfig{Id: "kept", Url: kept.url("/hook")})
	pushEvent(t, s, "t1", "first")
	// Deleted while its delivery is queued and before any attempt.
	if err := s.DeletePushConfig(ctx, "t1", "gone"); err != nil {
		t.Fatal(err)
	}
	h := start(t, s, WithBackoff(20*time.Millisecond, 20*time.Millisecond), withJitter(exactJitter))

	var flakyRetryAt time.Time
	keptDone := false
	for flakyRetryAt.IsZero() || !keptDone {
		r := h.next(t)
		switch r.ConfigID {
		case "flaky":
			// Deleted between attempts: the retry must not be sent.
			if err := s.DeletePushConfig(ctx, "t1", "flaky"); err != nil {
				t.Fatal(err)
			}
			flakyRetryAt = r.RetryAt
		case "kept":
			keptDone = r.Delivered()
		default:
			t.Errorf("attempt for config %q: %+v", r.ConfigID, r)
		}
	}
	// Once the flaky retry would have been due, claim cycles run past it:
	// deliveries are claimed oldest-due first, so a newer one getting
	// through shows the retry was not held back but is gone.
	time.Sleep(time.Until(flakyRetryAt))
	_, seq := pushEvent(t, s, "t1", "second")
	h.d.Notify()
	h.until(t, func(r Result) bool { return r.ConfigID == "kept" && r.Seq == seq && r.Delivered() })
	h.stop()

	if n := len(gone.requests()); n != 0 {
		t.Errorf("deleted config got %d requests", n)
	}
	if n := len(flaky.requests()); n != 1 {
		t.Errorf("config deleted after one attempt got %d requests, want 1", n)
	}
	if n := len(kept.requests()); n != 2 {
		t.Errorf("kept config got %d requests, want 2", n)
	}
}

func TestStopWaitsForAttemptInFlight(t *testing.T) {
	arrived := make(chan struct{})
	var once sync.Once
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			once.Do(func() { close(arrived) })
			<-r.Context().Done()
		}
	})
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: rc.url("/hook")})
	pushEvent(t, s, "t1", "hello")
	const timeout = 200 * time.Millisecond
	h := start(t, s, WithAttemptTimeout(timeout), WithBackoff(time.Millisecond, time.Millisecond))

	<-arrived
	began := time.Now()
	h.stop() // returns only once the hung attempt has timed out and been recorded
	if took := time.Since(began); took < timeout/2 {
		t.Errorf("Run returned after %v, before the attempt in flight ended", took)
	}
	select {
	case r := <-h.results:
		if r.Delivered() || r.RetryAt.IsZero() {
			t.Errorf("in-flight result = %+v, want a failure scheduled for retry", r)
		}
	default:
		t.Fatal("Run returned before the in-flight attempt reported")
	}

	// The delivery survived the shutdown; the next Deliverer sends it.
	h2 := start(t, s)
	if r := h2.next(t); !r.Delivered() || r.Attempt != 2 {
		t.Errorf("after restart, result = %+v; want delivered at attempt 2", r)
	}
}

func TestAbandonedClaimComesBackAfterLease(t *testing.T) {
	rc := newReceiver(t, nil)
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: rc.url("/hook")})
	pushEvent(t, s, "t1", "hello")
	// A claimer that dies right after claiming: nothing completes or
	// retries the delivery.
	const lease = 100 * time.Millisecond
	claimed, err := s.ClaimDeliveries(context.Background(), 10, lease)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	began := time.Now()
	h := start(t, s)
	r := h.next(t)
	if !r.Delivered() || r.Attempt != 1 || r.DeliveryID != claimed[0].ID {
		t.Errorf("result = %+v; want the abandoned delivery, delivered", r)
	}
	if waited := time.Since(began); waited < lease/2 {
		t.Errorf("delivered after %v, before the lease of %v ran out", waited, lease)
	}
}

func TestRefusedTargetIsGivenUpWithoutContact(t *testing.T) {
	rc := newReceiver(t, nil)
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: rc.url("/hook")})
	pushEvent(t, s, "t1", "hello")
	h := start(t, s, WithPolicy(Policy{})) // the default: loopback refused

	r := h.next(t)
	if !errors.Is(r.Err, ErrRefused) || !r.GaveUp || !r.Permanent || r.Attempt != 1 {
		t.Errorf("result = %+v; want a permanent refusal", r)
	}
	if n := rc.connections(); n != 0 {
		t.Errorf("refused receiver saw %d connections", n)
	}
	assertNoneDue(t, s)
}

func TestRunTwiceConcurrently(t *testing.T) {
	h := start(t, taskstore.NewMemory())
	deadline := time.Now().Add(5 * time.Second)
	for !h.d.running.Load() {
		if time.Now().After(deadline) {
			t.Fatal("Run did not start")
		}
		time.Sleep(time.Millisecond)
	}
	if err := h.d.Run(context.Background()); err == nil {
		t.Error("second concurrent Run = nil, want an error")
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	const (
		tasks       = 25
		events      = 4
		concurrency = 6
	)
	var inflight, peak atomic.Int32
	handle := func(n int, w http.ResponseWriter, _ *http.Request) {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
		}
		time.Sleep(time.Millisecond) // let attempts overlap
		if n%5 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}
	rcA, rcB := newReceiver(t, handle), newReceiver(t, handle)
	s := taskstore.NewMemory()
	h := start(t, s, WithConcurrency(concurrency), WithMaxAttempts(20))

	var wg sync.WaitGroup
	for i := range tasks {
		id := fmt.Sprint("t", i)
		newTask(t, s, id,
			&a2av1.TaskPushNotificationConfig{Id: "a", Url: rcA.url("/a")},
			&a2av1.TaskPushNotificationConfig{Id: "b", Url: rcB.url("/b")})
		wg.Go(func() {
			for j := range events {
				pushEvent(t, s, id, fmt.Sprint(id, "-", j))
				h.d.Notify()
			}
		})
	}
	wg.Wait()

	type key struct {
		task, config string
		seq          int64
	}
	delivered := map[key]int{}
	for len(delivered) < tasks*events*2 {
		r := h.next(t)
		if r.GaveUp {
			t.Fatalf("gave up: %+v", r)
		}
		if r.Delivered() {
			delivered[key{r.TaskID, r.ConfigID, r.Seq}]++
		}
	}
	h.stop()
	for k, n := range delivered {
		if n != 1 {
			t.Errorf("%v acknowledged %d times", k, n)
		}
	}
	if p := peak.Load(); p > concurrency {
		t.Errorf("%d attempts in flight at once, want at most %d", p, concurrency)
	}
	if p := peak.Load(); p < 2 {
		t.Logf("attempts never overlapped (peak %d)", p)
	}
	assertNoneDue(t, s)
}

// unreadable is a real outbox whose claims come back the way a durable
// store reports a row it cannot decode.
type unreadable struct{ *taskstore.Memory }

func (u unreadable) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]taskstore.Delivery, error) {
	ds, err := u.Memory.ClaimDeliveries(ctx, limit, lease)
	for i := range ds {
		ds[i].Config, ds[i].Event, ds[i].Err = nil, nil, errors.New("proto: cannot parse invalid wire-format data")
	}
	return ds, err
}

func TestUnreadableDeliveryIsGivenUp(t *testing.T) {
	rc := newReceiver(t, nil)
	s := taskstore.NewMemory()
	newTask(t, s, "t1", &a2av1.TaskPushNotificationConfig{Id: "c1", Url: rc.url("/hook")})
	pushEvent(t, s, "t1", "hello")
	h := start(t, unreadable{s})
	r := h.next(t)
	if !r.GaveUp || !r.Permanent || r.Attempt != 1 || r.Err == nil || !strings.Contains(r.Err.Error(), "unreadable") {
		t.Errorf("result = %+v; want a permanent give-up naming the unreadable notification", r)
	}
	if n := rc.connections(); n != 0 {
		t.Errorf("the receiver saw %d connections for an unreadable notification", n)
	}
	assertNoneDue(t, s)
}
