// Package regstoretest is the conformance suite every [regstore.Store]
// passes: the memory store, SQLite and PostgreSQL run the same tests, so
// the registry behaves the same on each.
package regstoretest

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// Wait bounds every wait for a watch event or a closed channel. It is
// generous because a store's changes may travel through a database (NOTIFY)
// on a loaded machine; a passing test never waits this long.
const Wait = 15 * time.Second

// Base is the instant the suite's leases are measured from. Its nanoseconds
// make sure stores keep expire times at full precision.
var Base = time.Unix(1_700_000_000, 123_456_789).UTC()

// Run runs the suite. open returns a new, empty store for one subtest and
// closes it when the subtest ends (t.Cleanup); the suite closes some stores
// itself, so Close must be safe to call twice.
func Run(t *testing.T, open func(t *testing.T) regstore.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s regstore.Store)
	}{
		{"PutCreate", testPutCreate},
		{"PutUpdate", testPutUpdate},
		{"PutNoID", testPutNoID},
		{"RevisionsIncrease", testRevisionsIncrease},
		{"Get", testGet},
		{"Delete", testDelete},
		{"List", testList},
		{"Expire", testExpire},
		{"ExpireConcurrent", testExpireConcurrent},
		{"Copies", testCopies},
		{"WatchPutDelete", testWatchPutDelete},
		{"WatchExpire", testWatchExpire},
		{"WatchCopies", testWatchCopies},
		{"WatchCancel", testWatchCancel},
		{"Close", testClose},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, open(t))
		})
	}
}

// NewReg returns a registration for id whose lease ends at expire (the zero
// time: no expire_time, it never expires).
func NewReg(id string, expire time.Time) *registryv1.AgentRegistration {
	r := &registryv1.AgentRegistration{
		AgentId: id,
		Card: &a2av1.AgentCard{
			Name:        "agent " + id,
			Description: "a test agent",
		},
		Status:       registryv1.AgentStatus_AGENT_STATUS_HEALTHY,
		Labels:       map[string]string{"zone": "a"},
		Owner:        "alice",
		Ttl:          durationpb.New(30 * time.Second),
		RegisterTime: timestamppb.New(Base),
		RenewTime:    timestamppb.New(Base),
	}
	if !expire.IsZero() {
		r.ExpireTime = timestamppb.New(expire)
	}
	return r
}

// MustPut puts reg expecting revision expect and returns it as stored.
func MustPut(t testing.TB, s regstore.Store, reg *registryv1.AgentRegistration, expect int64) *registryv1.AgentRegistration {
	t.Helper()
	got, err := s.Put(context.Background(), reg, expect)
	if err != nil {
		t.Fatalf("Put(%q, expect %d): %v", reg.GetAgentId(), expect, err)
	}
	return got
}

// MustGet returns the registration with id.
func MustGet(t testing.TB, s regstore.Store, id string) *registryv1.AgentRegistration {
	t.Helper()
	got, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return got
}

// MustWatch opens a watch that ends with the test.
func MustWatch(t testing.TB, s regstore.Store) <-chan regstore.Change {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return ch
}

// Next returns the next change on ch, failing the test if none arrives
// within [Wait] or the channel closes.
func Next(t testing.TB, ch <-chan regstore.Change, what string) regstore.Change {
	t.Helper()
	timer := time.NewTimer(Wait)
	defer timer.Stop()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatalf("waiting for %s: watch channel closed", what)
		}
		return c
	case <-timer.C:
		t.Fatalf("waiting for %s: no change within %v", what, Wait)
	}
	panic("unreachable")
}

// Closed waits (at most [Wait]) for ch to be closed, discarding changes.
func Closed(t testing.TB, ch <-chan regstore.Change, what string) {
	t.Helper()
	timer := time.NewTimer(Wait)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("%s: watch channel still open after %v", what, Wait)
		}
	}
}

// Quiet checks that nothing is pending on ch. It does not wait: a store
// delivering asynchronously may still be about to send, so it only catches
// changes that should never have been sent before the ones already seen.
func Quiet(t testing.TB, ch <-chan regstore.Change) {
	t.Helper()
	select {
	case c, ok := <-ch:
		if ok {
			t.Fatalf("unexpected change %+v", c)
		}
	default:
	}
}

// WantErr fails unless err is target.
func WantErr(t testing.TB, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", op, err, target)
	}
}

// WantEqual fails unless got and want are the same registration.
func WantEqual(t testing.TB, what string, got, want *registryv1.AgentRegistration) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}
