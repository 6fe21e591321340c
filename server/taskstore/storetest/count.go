package storetest

import (
	"context"
	"maps"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// testCountByState checks the a2a_tasks counts: every task once, in its
// current state, across tenants and owners.
func testCountByState(t *testing.T, s taskstore.Store) {
	c, ok := s.(taskstore.Counter)
	if !ok {
		t.Skipf("%T does not implement taskstore.Counter", s)
	}
	ctx := context.Background()
	counts := func() map[a2av1.TaskState]int64 {
		t.Helper()
		got, err := c.CountByState(ctx)
		if err != nil {
			t.Fatalf("CountByState: %v", err)
		}
		maps.DeleteFunc(got, func(_ a2av1.TaskState, n int64) bool { return n == 0 })
		return got
	}
	if got := counts(); len(got) != 0 {
		t.Fatalf("empty store: CountByState = %v", got)
	}
	const (
		submitted = a2av1.TaskState_TASK_STATE_SUBMITTED
		working   = a2av1.TaskState_TASK_STATE_WORKING
		completed = a2av1.TaskState_TASK_STATE_COMPLETED
	)
	for i, owner := range []string{"alice", "bob", "alice"} {
		rec := NewRecord(string(rune('a'+i)), "c", submitted, time.Duration(i)*time.Second)
		rec.Owner, rec.Tenant = owner, owner+"-tenant"
		mustCreate(t, s, rec)
	}
	if got, want := counts(), map[a2av1.TaskState]int64{submitted: 3}; !maps.Equal(got, want) {
		t.Fatalf("CountByState = %v, want %v", got, want)
	}
	rec, err := s.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	next := withState(rec, working, 10*time.Second)
	if _, err := s.Update(ctx, "a", rec.Version, taskstore.Update{Task: next, Event: statusEvent(next)}); err != nil {
		t.Fatal(err)
	}
	rec, err = s.Get(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	done := withState(rec, completed, 11*time.Second)
	if _, err := s.Update(ctx, "b", rec.Version, taskstore.Update{Task: done, Event: statusEvent(done)}); err != nil {
		t.Fatal(err)
	}
	if got, want := counts(), map[a2av1.TaskState]int64{submitted: 1, working: 1, completed: 1}; !maps.Equal(got, want) {
		t.Fatalf("after updates CountByState = %v, want %v", got, want)
	}
}
