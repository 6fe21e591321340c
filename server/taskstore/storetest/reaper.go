package storetest

import (
	"context"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// testReaper checks runner leases: only SUBMITTED or WORKING tasks whose
// runner holds no live lease are orphans.
func testReaper(t *testing.T, s taskstore.Store) {
	r, ok := s.(taskstore.Reaper)
	if !ok {
		t.Skipf("%T does not implement taskstore.Reaper", s)
	}
	ctx := context.Background()
	mk := func(id, runner string, state a2av1.TaskState, offset time.Duration) {
		rec := NewRecord(id, "c", state, offset)
		rec.Runner = runner
		mustCreate(t, s, rec)
	}
	mk("live", "r1", a2av1.TaskState_TASK_STATE_WORKING, 0)
	mk("dead", "r2", a2av1.TaskState_TASK_STATE_WORKING, time.Second)
	mk("submitted", "r2", a2av1.TaskState_TASK_STATE_SUBMITTED, 2*time.Second)
	mk("done", "r2", a2av1.TaskState_TASK_STATE_COMPLETED, 3*time.Second)
	mk("waiting", "r2", a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, 4*time.Second)
	if err := r.KeepAlive(ctx, "r1", time.Minute); err != nil {
		t.Fatal(err)
	}
	orphanIDs := func() string {
		t.Helper()
		recs, err := r.Orphans(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		for i, rec := range recs {
			if i > 0 {
				s += " "
			}
			s += rec.Task.GetId()
		}
		return s
	}
	if got := orphanIDs(); got != "dead submitted" {
		t.Errorf("Orphans = %q, want %q", got, "dead submitted")
	}
	// An update hands a task to another runner.
	rec, _ := s.Get(ctx, "dead")
	next := withState(rec, a2av1.TaskState_TASK_STATE_WORKING, 5*time.Second)
	if _, err := s.Update(ctx, "dead", rec.Version, taskstore.Update{Task: next, Runner: "r1"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "dead"); got.Runner != "r1" {
		t.Errorf("Runner after Update = %q, want r1", got.Runner)
	}
	if got := orphanIDs(); got != "submitted" {
		t.Errorf("after handing over, Orphans = %q, want %q", got, "submitted")
	}
	if err := r.Release(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if got := orphanIDs(); got != "live submitted dead" {
		t.Errorf("after Release, Orphans = %q, want %q", got, "live submitted dead")
	}
	// A lease that runs out counts as released.
	if err := r.KeepAlive(ctx, "r1", time.Second); err != nil {
		t.Fatal(err)
	}
	if got := orphanIDs(); got != "submitted" {
		t.Errorf("with a short lease, Orphans = %q, want %q", got, "submitted")
	}
	time.Sleep(1500 * time.Millisecond)
	if got := orphanIDs(); got != "live submitted dead" {
		t.Errorf("after the lease ran out, Orphans = %q, want %q", got, "live submitted dead")
	}
}
