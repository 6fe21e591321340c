package router

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	r := Retry{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		if got := r.delay(n, 0.5); got != want {
			t.Errorf("delay(%d) = %v, want %v", n, got, want)
		}
	}
	r.Jitter = 0.5
	if lo, hi := r.delay(2, 0), r.delay(2, 0.999999); lo != 100*time.Millisecond || hi < 299*time.Millisecond || hi > 300*time.Millisecond {
		t.Errorf("jittered delay(2) spans [%v, %v], want [100ms, 300ms]", lo, hi)
	}
	if got := r.delay(10, 0.999999); got != time.Second {
		t.Errorf("jitter above the cap: %v, want MaxBackoff", got)
	}
	r.Jitter = -1 // none
	if got := r.delay(1, 0); got != 100*time.Millisecond {
		t.Errorf("negative jitter: %v", got)
	}
}

func TestPolicyOver(t *testing.T) {
	t.Parallel()
	def := Policy{Balance: LeastOutstanding, Timeout: time.Second, SharedState: true, Retry: DefaultRetry}
	got := Policy{Timeout: -1, Retry: Retry{MaxAttempts: 1}}.over(def)
	want := def
	want.Timeout, want.Retry.MaxAttempts = -1, 1
	if got != want {
		t.Errorf("over: %+v, want %+v", got, want)
	}
	if got.timeout() != 0 {
		t.Errorf("negative timeout in effect: %v", got.timeout())
	}
	for _, bad := range []Policy{
		{Balance: 7},
		{Retry: Retry{MaxAttempts: -1}},
		{Retry: Retry{Multiplier: 0.5}},
		{Retry: Retry{Jitter: 1.5}},
		{Retry: Retry{InitialBackoff: time.Second, MaxBackoff: time.Millisecond}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	if err := DefaultPolicy.Validate(); err != nil {
		t.Errorf("DefaultPolicy: %v", err)
	}
	if err := (Breaker{}).Validate(); err == nil {
		t.Error("the zero Breaker validated")
	}
}

func TestAffinity(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	a := newAffinity(3, time.Minute, func() time.Time { return now })
	rt1, rt2 := &Route{name: "one"}, &Route{name: "two"}
	a.put("t1", "e1", rt1)
	a.put("t2", "e2", rt1)
	a.put("t3", "e3", rt1)
	if _, ok := a.get("t1"); !ok { // t1 is now the most recent
		t.Fatal("t1 forgotten")
	}
	a.put("t4", "e4", rt1) // evicts t2, the least recently used
	if _, ok := a.get("t2"); ok {
		t.Error("t2 kept past the size bound")
	}
	if a.len() != 3 {
		t.Errorf("%d entries, want 3", a.len())
	}
	// Same endpoint: the creating route stays; another endpoint: replaced.
	a.put("t1", "e1", rt2)
	if own, _ := a.get("t1"); own.route != rt1 {
		t.Errorf("route replaced by a later answer from the same endpoint")
	}
	a.put("t1", "e9", rt2)
	if own, _ := a.get("t1"); own.endpoint != "e9" || own.route != rt2 {
		t.Errorf("owner %+v, want e9 via two", own)
	}
	a.forget("t1", "e1") // not its endpoint any more: kept
	if _, ok := a.get("t1"); !ok {
		t.Error("forget of a stale endpoint dropped the entry")
	}
	a.forget("t1", "e9")
	if _, ok := a.get("t1"); ok {
		t.Error("forget kept the entry")
	}
	// Expiry, on read and on write.
	now = now.Add(2 * time.Minute)
	if _, ok := a.get("t3"); ok {
		t.Error("t3 kept past its TTL")
	}
	a.put("t5", "e5", rt1)
	if a.len() != 1 {
		t.Errorf("%d entries after expiry, want 1", a.len())
	}
}

func TestOrder(t *testing.T) {
	t.Parallel()
	eps := []*endpoint{{id: "a"}, {id: "b"}, {id: "c"}}
	rt := &Route{policy: Policy{Balance: RoundRobin}, state: &routeState{}}
	ids := func(es []*endpoint) string {
		s := ""
		for _, e := range es {
			s += e.id
		}
		return s
	}
	for _, want := range []string{"abc", "bca", "cab", "abc"} {
		if got := ids(rt.order(eps, "")); got != want {
			t.Errorf("round robin: %s, want %s", got, want)
		}
	}
	if got := ids(rt.order(eps, "c")); got != "cba" { // rotation "bca", c moved first
		t.Errorf("prefer c: %s, want cba", got)
	}
	rt = &Route{policy: Policy{Balance: LeastOutstanding}, state: &routeState{}}
	eps[0].inflight.Store(2)
	// b and c tie: they take turns, by when they were last picked.
	var seq uint64
	for _, want := range []string{"bca", "cba", "bca", "cba"} {
		got := rt.order(eps, "")
		if ids(got) != want {
			t.Errorf("least outstanding: %s, want %s", ids(got), want)
		}
		seq++
		got[0].picked.Store(seq)
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	live := context.Background()
	gone, cancel := context.WithCancel(live)
	cancel()
	cases := []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{live, nil, "success"},
		{live, a2agrpc.ErrUnavailable, "failure"},
		{live, a2agrpc.NewError(a2agrpc.ReasonDeadlineExceeded, ""), "failure"},
		{live, a2agrpc.ErrInternal, "failure"},
		{live, a2agrpc.ErrTaskNotFound, "success"},
		{live, a2agrpc.ErrInvalidParams, "success"},
		{live, a2agrpc.ErrUnauthenticated, "success"},
		{live, a2agrpc.ErrResourceExhausted, "success"},
		{gone, a2agrpc.ErrUnavailable, "excluded"},
	}
	for _, c := range cases {
		v := verdict(c.ctx, c.err)
		got := "failure"
		switch {
		case v == nil:
			got = "success"
		case errors.Is(v, errNotCounted):
			got = "excluded"
		}
		if got != c.want {
			t.Errorf("verdict(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		err   error
		ok    bool
		floor time.Duration
	}{
		{a2agrpc.ErrUnavailable, true, 0},
		{a2agrpc.ErrUnavailable.WithRetryAfter(time.Second), true, time.Second},
		{a2agrpc.ErrUnavailable.WithRetryAfter(time.Hour), false, time.Hour},
		{a2agrpc.NewError(a2agrpc.ReasonDeadlineExceeded, ""), true, 0},
		{a2agrpc.ErrResourceExhausted, false, 0},
		{a2agrpc.ErrResourceExhausted.WithRetryAfter(2 * time.Second), true, 2 * time.Second},
		{a2agrpc.ErrTaskNotFound, false, 0},
		{a2agrpc.ErrInternal, false, 0},
	} {
		ok, floor := retryable(ctx, c.err)
		if ok != c.ok || (ok && floor != c.floor) {
			t.Errorf("retryable(%v) = %v %v, want %v %v", c.err, ok, floor, c.ok, c.floor)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	meta := func(kv ...string) *structpb.Struct {
		s := &structpb.Struct{Fields: map[string]*structpb.Value{}}
		for i := 0; i+1 < len(kv); i += 2 {
			s.Fields[kv[i]] = structpb.NewStringValue(kv[i+1])
		}
		return s
	}
	text := &a2av1.Part{Content: &a2av1.Part_Text{Text: "hi"}}
	png := &a2av1.Part{Content: &a2av1.Part_Raw{Raw: []byte{1}}, MediaType: "image/png; q=1"}
	data := &a2av1.Part{Content: &a2av1.Part_Data{Data: structpb.NewBoolValue(true)}, MediaType: "application/json"}
	req := &a2av1.SendMessageRequest{
		Message:  &a2av1.Message{Parts: []*a2av1.Part{text, png}, Metadata: meta("skill", "ocr", "n", "1")},
		Metadata: meta("tier", "gold", "skill", "ignored"),
	}
	req.Message.Metadata.Fields["flag"] = structpb.NewBoolValue(true)
	req.Message.Metadata.Fields["num"] = structpb.NewNumberValue(3)
	for i, c := range []struct {
		m    Match
		want bool
	}{
		{Match{}, true},
		{Match{Skill: "ocr"}, true},
		{Match{Skill: "ignored"}, false}, // the message's own key wins
		{Match{Metadata: map[string]string{"tier": "gold"}}, true},
		{Match{Metadata: map[string]string{"tier": "silver"}}, false},
		{Match{Metadata: map[string]string{"flag": "true", "num": "3"}}, true},
		{Match{Metadata: map[string]string{"absent": ""}}, false},
		{Match{PartKind: PartText}, true},
		{Match{PartKind: PartFile}, true},
		{Match{PartKind: PartData}, false},
		{Match{MediaType: "image/*"}, true},
		{Match{MediaType: "IMAGE/PNG"}, true},
		{Match{MediaType: "*/*"}, true},
		{Match{MediaType: "image/jpeg"}, false},
		{Match{PartKind: PartText, MediaType: "image/png"}, false}, // one part must have both
		{Match{PartKind: PartFile, MediaType: "image/png", Skill: "ocr"}, true},
	} {
		if got := c.m.matches(req); got != c.want {
			t.Errorf("case %d %+v: %v, want %v", i, c.m, got, c.want)
		}
	}
	req.Message.Parts = append(req.Message.Parts, data)
	if !(Match{PartKind: PartData, MediaType: "application/json"}).matches(req) {
		t.Error("data part not matched")
	}
	if err := noRule(req); !errors.Is(err, a2agrpc.ErrUnsupportedOperation) {
		t.Errorf("noRule: %v", err)
	}
}
