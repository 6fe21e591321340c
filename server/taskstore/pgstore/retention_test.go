package pgstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// TestRetention: terminal tasks and tasks left waiting for their caller
// become invisible once their retention runs out and are then swept with
// everything attached to them; tasks being worked on stay.
func TestRetention(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	const retention = 1500 * time.Millisecond
	s := openIn(t, schema, WithTerminalRetention(retention), WithInterruptedRetention(retention), WithSweepInterval(50*time.Millisecond))
	ctx := context.Background()

	done := create(t, s, "done", a2av1.TaskState_TASK_STATE_SUBMITTED)
	advance(t, s, done, 1, a2av1.TaskState_TASK_STATE_COMPLETED, time.Second, true, false)
	if err := s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "done", Id: "a", Url: "https://hook/"}); err != nil {
		t.Fatal(err)
	}
	create(t, s, "waiting", a2av1.TaskState_TASK_STATE_INPUT_REQUIRED)
	resumed := create(t, s, "resumed", a2av1.TaskState_TASK_STATE_INPUT_REQUIRED)
	advance(t, s, resumed, 1, a2av1.TaskState_TASK_STATE_WORKING, time.Second, false, false) // the caller answered
	create(t, s, "working", a2av1.TaskState_TASK_STATE_WORKING)

	if page, err := s.List(ctx, taskstore.Query{PageSize: 10}); err != nil || page.TotalSize != 4 {
		t.Fatalf("List before expiry: total %d, %v; want 4", page.TotalSize, err)
	}
	time.Sleep(retention + 100*time.Millisecond)

	for _, id := range []string{"done", "waiting"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, taskstore.ErrNotFound) {
			t.Errorf("Get(%s) after its retention = %v, want ErrNotFound", id, err)
		}
	}
	for _, id := range []string{"resumed", "working"} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Errorf("Get(%s) = %v; a task being worked on does not expire", id, err)
		}
	}
	page, err := s.List(ctx, taskstore.Query{PageSize: 10})
	if err != nil || page.TotalSize != 2 || len(page.Records) != 2 {
		t.Errorf("List after expiry: %d records, total %d, %v; want 2", len(page.Records), page.TotalSize, err)
	}
	adm := admin(t)
	eventually(t, 5*time.Second, "expired tasks were not swept", func() bool {
		return countRows(t, adm, schema, "tasks") == 2
	})
	for _, table := range []string{"task_events", "push_configs"} {
		if n := countRows(t, adm, schema, table); n != 0 {
			t.Errorf("%s keeps %d rows of swept tasks", table, n)
		}
	}
}

// TestExpiredIsGone: every call treats an expired task that the sweeper
// has not reached yet as absent, and its id can be used again.
func TestExpiredIsGone(t *testing.T) {
	t.Parallel()
	const retention = time.Second
	s := newStore(t, WithTerminalRetention(retention), WithSweepInterval(time.Hour))
	ctx := context.Background()
	rec := create(t, s, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	v := advance(t, s, rec, 1, a2av1.TaskState_TASK_STATE_FAILED, time.Second, true, false)
	if err := s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "t1", Id: "a", Url: "https://hook/"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(retention + 100*time.Millisecond)

	if _, err := s.Update(ctx, "t1", v, workingUpdate(rec)); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("Update = %v, want ErrNotFound", err)
	}
	if _, err := s.Events(ctx, "t1", 0); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("Events = %v, want ErrNotFound", err)
	}
	if _, err := s.GetPushConfig(ctx, "t1", "a"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("GetPushConfig = %v, want ErrNotFound", err)
	}
	if _, _, err := s.ListPushConfigs(ctx, "t1", 0, ""); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("ListPushConfigs = %v, want ErrNotFound", err)
	}
	if err := s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "t1", Id: "b", Url: "https://hook/"}); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("PutPushConfig = %v, want ErrNotFound", err)
	}

	again := create(t, s, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	got, err := s.Get(ctx, "t1")
	if err != nil || got.Version != 1 {
		t.Fatalf("Get of the new t1 = %+v, %v", got, err)
	}
	if evs, err := s.Events(ctx, "t1", 0); err != nil || len(evs) != 0 {
		t.Errorf("the new t1 inherited events %v (%v)", seqsOf(evs), err)
	}
	if cfgs, _, err := s.ListPushConfigs(ctx, "t1", 0, ""); err != nil || len(cfgs) != 0 {
		t.Errorf("the new t1 inherited push configs %v (%v)", cfgs, err)
	}
	if err := s.Create(ctx, again); !errors.Is(err, taskstore.ErrExists) {
		t.Errorf("Create over a live task = %v, want ErrExists", err)
	}
}

// TestEventTrim: the log keeps the newest events up to the bound; reading
// from before the oldest kept one is ErrEventsTruncated, and updates that
// log nothing do not count.
func TestEventTrim(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	s := openIn(t, schema, WithMaxEventsPerTask(3))
	ctx := context.Background()
	rec := create(t, s, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	v := int64(1)
	for i := range 6 {
		v = advance(t, s, rec, v, a2av1.TaskState_TASK_STATE_WORKING, time.Duration(i+1)*time.Second, i != 4, false)
	}
	// Events were logged at seqs 2 3 4 5 7 (6 logged nothing); the bound
	// keeps 4 5 7, so 3 is the newest one dropped.
	for _, tt := range []struct {
		after int64
		want  string
	}{
		{0, "truncated"}, {2, "truncated"}, {3, "[4 5 7]"}, {5, "[7]"}, {6, "[7]"}, {7, "[]"},
	} {
		evs, err := s.Events(ctx, "t1", tt.after)
		got := fmt.Sprint(seqsOf(evs))
		if errors.Is(err, taskstore.ErrEventsTruncated) {
			got = "truncated"
		} else if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("Events(after %d) = %s, want %s", tt.after, got, tt.want)
		}
	}
	if n := countRows(t, admin(t), schema, "task_events"); n != 3 {
		t.Errorf("task_events holds %d rows, want 3", n)
	}
}
