package server

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
)

func TestLimiter(t *testing.T) {
	l := newLimiter(1, 2)
	now := time.Now()
	for i := range 2 {
		if err := l.allow("p:a", now); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	err := l.allow("p:a", now)
	var e *a2agrpc.Error
	if !errors.As(err, &e) || e.Reason != a2agrpc.ReasonResourceExhausted || e.RetryAfter != time.Second {
		t.Fatalf("over the limit: %v (retry after %v)", err, e.RetryAfter)
	}
	if err := l.allow("p:b", now); err != nil {
		t.Errorf("another caller limited: %v", err)
	}
	if err := l.allow("p:a", now.Add(time.Second)); err != nil {
		t.Errorf("after a second a token is back: %v", err)
	}
	// A flood of one-off callers does not grow the map past its bound.
	for i := range maxBuckets + 10 {
		_ = l.allow(fmt.Sprint("a:", i), now)
	}
	if n := len(l.buckets); n > maxBuckets+1 {
		t.Errorf("%d buckets, bound %d", n, maxBuckets)
	}
}

func TestLimitKey(t *testing.T) {
	for _, tc := range []struct {
		call *CallInfo
		want string
	}{
		{&CallInfo{Caller: "jwt:iss#alice", Remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.1")}}, "p:jwt:iss#alice"},
		{&CallInfo{Remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 5}}, "a:10.0.0.1"},
		{&CallInfo{Remote: &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6")}}, "a:2001:db8:1:2::/64"},
		{&CallInfo{Remote: &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::1")}}, "a:2001:db8:1:2::/64"},
		{&CallInfo{}, "a:"},
	} {
		if got := limitKey(tc.call); got != tc.want {
			t.Errorf("limitKey(%+v) = %q, want %q", tc.call, got, tc.want)
		}
	}
}
