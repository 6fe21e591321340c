package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// TestBatchIsolation runs one group commit by hand and checks that each
// write's failure stays its own: a failure that wrote nothing leaves the
// batch alone, one that may have written part of its change is undone
// without undoing the others, and a panic is an error, not a wedged
// writer.
func TestBatchIsolation(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	lease := func(runner string) func(context.Context, *writer) error {
		return func(ctx context.Context, w *writer) error {
			_, err := w.keepAlive.ExecContext(ctx, runner, time.Now().Add(time.Hour).UnixNano())
			return err
		}
	}
	boom := errors.New("boom")
	ops := []*writeOp{
		{ctx: ctx, fn: lease("a")},
		{ctx: ctx, fn: func(ctx context.Context, w *writer) error {
			if err := lease("half")(ctx, w); err != nil {
				return err
			}
			return boom // after writing: must be undone
		}},
		{ctx: ctx, fn: func(context.Context, *writer) error { return taskstore.ErrConflict }},
		{ctx: ctx, fn: lease("b")},
		{ctx: ctx, fn: func(context.Context, *writer) error { panic("bug") }},
		{ctx: ctx, fn: lease("c")},
	}
	// Lead, as write does, so that no other write (the sweeper's) runs
	// meanwhile, then pass the turn on.
	s.w.mu.Lock()
	for s.w.leading {
		s.w.idle.Wait()
	}
	s.w.leading = true
	s.w.mu.Unlock()
	s.runBatch(ops)
	s.w.handOff()

	for i, want := range []string{"<nil>", "boom", taskstore.ErrConflict.Error(), "<nil>", "panicked: bug", "<nil>"} {
		if got := fmt.Sprint(ops[i].err); !strings.Contains(got, want) {
			t.Errorf("write %d: err = %s, want %s", i, got, want)
		}
	}
	if !errors.Is(ops[1].err, boom) {
		t.Errorf("write 1: err = %v, want boom", ops[1].err)
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT id FROM runners ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if fmt.Sprint(got) != "[a b c]" {
		t.Errorf("committed leases = %v, want [a b c]: the failed write undone, the others kept", got)
	}
	// The writer still works.
	if err := s.KeepAlive(ctx, "d", time.Minute); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrent hammers one store from many goroutines — creates,
// updates with events and pushes, reads, lists, claims, and writers racing
// for one task — and checks that nothing fails but the expected version
// conflicts (in particular, no SQLITE_BUSY) and that exactly one writer
// wins each version of the contended task.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	if err := s.Create(ctx, record("shared", a2av1.TaskState_TASK_STATE_WORKING, 0)); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 16, 40
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		wins     int
		failures []error
	)
	fail := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}
	for g := range workers {
		wg.Go(func() {
			for i := range rounds {
				id := fmt.Sprintf("w%d-%d", g, i)
				if err := s.Create(ctx, record(id, a2av1.TaskState_TASK_STATE_SUBMITTED, time.Duration(i)*time.Millisecond)); err != nil {
					fail(err)
					return
				}
				if err := s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: id, Id: "h", Url: "https://h"}); err != nil {
					fail(err)
				}
				v := int64(1)
				for _, state := range []a2av1.TaskState{a2av1.TaskState_TASK_STATE_WORKING, a2av1.TaskState_TASK_STATE_COMPLETED} {
					next := task(id, state, time.Duration(v)*time.Second)
					var err error
					if v, err = s.Update(ctx, id, v, taskstore.Update{Task: next, Event: statusEvent(next), Push: true}); err != nil {
						fail(err)
						return
					}
				}
				if evs, err := s.Events(ctx, id, 0); err != nil || len(evs) != 2 {
					fail(fmt.Errorf("Events(%s) = %d events, %v", id, len(evs), err))
				}
				if _, err := s.List(ctx, taskstore.Query{PageSize: 5}); err != nil {
					fail(err)
				}
				if ds, err := s.ClaimDeliveries(ctx, 4, time.Minute); err != nil {
					fail(err)
				} else {
					for _, d := range ds {
						if err := s.CompleteDelivery(ctx, d.ID); err != nil {
							fail(err)
						}
					}
				}
				// Race for the shared task: whoever reads version v and
				// writes v+1 first wins; the others conflict.
				rec, err := s.Get(ctx, "shared")
				if err != nil {
					fail(err)
					continue
				}
				next := task("shared", a2av1.TaskState_TASK_STATE_WORKING, time.Duration(rec.Version)*time.Second)
				switch _, err := s.Update(ctx, "shared", rec.Version, taskstore.Update{Task: next, Event: statusEvent(next)}); {
				case err == nil:
					mu.Lock()
					wins++
					mu.Unlock()
				case !errors.Is(err, taskstore.ErrConflict):
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	rec, err := s.Get(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != int64(1+wins) {
		t.Errorf("shared task at version %d after %d successful updates, want %d", rec.Version, wins, 1+wins)
	}
	evs, err := s.Events(ctx, "shared", 0)
	if err != nil || len(evs) != wins {
		t.Errorf("shared task has %d events, %v; want %d", len(evs), err, wins)
	}
	page, err := s.List(ctx, taskstore.Query{PageSize: 1})
	if err != nil || page.TotalSize != 1+workers*rounds {
		t.Errorf("List total = %d, %v; want %d", page.TotalSize, err, 1+workers*rounds)
	}
	t.Logf("%d writes in %d commits", 1+wins+workers*rounds*4+1, s.w.commits)
}
