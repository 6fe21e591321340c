package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// TestRetention checks that terminal and abandoned tasks become invisible
// when their retention runs out, that the sweep then deletes them with
// everything attached, and that an expired id can be reused at once.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	s, _ := openTest(t, WithClock(clock.Now), WithTerminalRetention(time.Hour), WithInterruptedRetention(10*time.Minute))

	// done: terminal; waiting: INPUT_REQUIRED; resumed: waited, then went
	// back to work; busy: never stops working.
	for _, id := range []string{"done", "waiting", "resumed", "busy"} {
		if err := s.Create(ctx, record(id, a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "done", Id: "h", Url: "https://h"}); err != nil {
		t.Fatal(err)
	}
	v := advance(t, s, "done", 1, a2av1.TaskState_TASK_STATE_WORKING, true)
	advance(t, s, "done", v, a2av1.TaskState_TASK_STATE_COMPLETED, true)
	advance(t, s, "waiting", 1, a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, false)
	v = advance(t, s, "resumed", 1, a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, false)

	// Events outlive the terminal state, so a stream can be resumed.
	if evs, err := s.Events(ctx, "done", 0); err != nil || len(evs) != 2 {
		t.Errorf("Events of a completed task = %v, %v; want both events kept", evs, err)
	}

	clock.Advance(9 * time.Minute)
	advance(t, s, "resumed", v, a2av1.TaskState_TASK_STATE_WORKING, false)
	clock.Advance(2 * time.Minute) // "waiting" has waited 11 minutes
	if _, err := s.Get(ctx, "waiting"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("Get(abandoned task) = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "resumed"); err != nil {
		t.Errorf("Get(task that resumed before its wait ran out) = %v", err)
	}
	if _, err := s.Get(ctx, "done"); err != nil {
		t.Errorf("Get(completed task within retention) = %v", err)
	}

	clock.Advance(time.Hour) // "done" finished 71 minutes ago
	for name, call := range map[string]func() error{
		"Get":    func() error { _, err := s.Get(ctx, "done"); return err },
		"Events": func() error { _, err := s.Events(ctx, "done", 0); return err },
		"Update": func() error {
			_, err := s.Update(ctx, "done", 3, taskstore.Update{Task: task("done", 3, 0)})
			return err
		},
		"PutPushConfig":   func() error { return s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "done", Id: "x"}) },
		"GetPushConfig":   func() error { _, err := s.GetPushConfig(ctx, "done", "h"); return err },
		"ListPushConfigs": func() error { _, _, err := s.ListPushConfigs(ctx, "done", 0, ""); return err },
	} {
		if err := call(); !errors.Is(err, taskstore.ErrNotFound) {
			t.Errorf("%s(expired task) = %v, want ErrNotFound", name, err)
		}
	}
	page, err := s.List(ctx, taskstore.Query{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(page); got != "resumed busy" && got != "busy resumed" || page.TotalSize != 2 {
		t.Errorf("List = %q total %d, want the two live tasks", got, page.TotalSize)
	}

	// The sweep deletes what expired, with its events, configs and queued
	// deliveries.
	if n := count(t, s, "push_outbox"); n != 2 {
		t.Fatalf("%d queued deliveries before the sweep, want 2", n)
	}
	n, err := s.sweep(ctx)
	if err != nil || n != 2 {
		t.Errorf("sweep = %d, %v; want the 2 expired tasks", n, err)
	}
	for table, want := range map[string]int{"tasks": 2, "task_events": 2, "push_configs": 0, "push_outbox": 0} {
		if got := count(t, s, table); got != want {
			t.Errorf("after the sweep, %s has %d rows, want %d", table, got, want)
		}
	}

	// An expired id is free again, even before the sweep deletes it.
	if err := s.Create(ctx, record("busy2", a2av1.TaskState_TASK_STATE_COMPLETED, 0)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if err := s.Create(ctx, record("busy2", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
		t.Errorf("Create over an expired task = %v", err)
	}
	if rec, err := s.Get(ctx, "busy2"); err != nil || rec.Version != 1 || rec.Task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_SUBMITTED {
		t.Errorf("Get(recreated) = %+v, %v", rec, err)
	}
	if err := s.Create(ctx, record("busy2", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); !errors.Is(err, taskstore.ErrExists) {
		t.Errorf("Create over a live task = %v, want ErrExists", err)
	}
}

// TestSweepLoop checks that the background sweep runs by itself.
func TestSweepLoop(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	s, _ := openTest(t, WithClock(clock.Now), WithTerminalRetention(time.Minute), WithSweepInterval(10*time.Millisecond))
	if err := s.Create(ctx, record("t", a2av1.TaskState_TASK_STATE_COMPLETED, 0)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for count(t, s, "tasks") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the expired task was not swept")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEventTrim checks the bound on a task's event log: the oldest events
// go first, and asking for them is ErrEventsTruncated, across a reopen too.
func TestEventTrim(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t, WithMaxEventsPerTask(3))
	if err := s.Create(ctx, record("t", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
		t.Fatal(err)
	}
	v := int64(1)
	for i := range 6 {
		if i == 2 { // a version without an event leaves a gap in the log
			next := task("t", a2av1.TaskState_TASK_STATE_WORKING, time.Second)
			var err error
			if v, err = s.Update(ctx, "t", v, taskstore.Update{Task: next}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		v = advance(t, s, "t", v, a2av1.TaskState_TASK_STATE_WORKING, false)
	}
	// Versions 2..7 with events at 2, 3, 5, 6, 7; the last three are kept.
	check := func(s *Store) {
		t.Helper()
		for after, want := range map[int64]string{0: "truncated", 2: "truncated", 3: "[5 6 7]", 5: "[6 7]", 7: "[]"} {
			evs, err := s.Events(ctx, "t", after)
			got := "truncated"
			if !errors.Is(err, taskstore.ErrEventsTruncated) {
				if err != nil {
					t.Fatal(err)
				}
				got = seqsOf(evs)
			}
			if got != want {
				t.Errorf("Events(after %d) = %s, want %s", after, got, want)
			}
		}
	}
	check(s)
	s.Close()
	s2, err := Open(ctx, path, WithMaxEventsPerTask(3))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2)
}

func seqsOf(evs []taskstore.Event) string {
	seqs := []int64{}
	for _, e := range evs {
		seqs = append(seqs, e.Seq)
	}
	return fmt.Sprint(seqs)
}

func ids(p taskstore.Page) string {
	var s string
	for i, r := range p.Records {
		if i > 0 {
			s += " "
		}
		s += r.Task.GetId()
	}
	return s
}
