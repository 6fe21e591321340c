package taskstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/taskstore/storetest"
)

func TestMemory_Conformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) taskstore.Store { return taskstore.NewMemory() })
}

// clock is a settable time source for retention tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestMemory_TerminalRetention(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	s := taskstore.NewMemory(taskstore.WithTerminalRetention(time.Minute), taskstore.WithClock(clk.Now))
	done := storetest.NewRecord("done", "c", a2av1.TaskState_TASK_STATE_COMPLETED, 0)
	live := storetest.NewRecord("live", "c", a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, 0)
	for _, r := range []taskstore.Record{done, live} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(59 * time.Second)
	if _, err := s.Get(ctx, "done"); err != nil {
		t.Fatalf("terminal task gone before its retention: %v", err)
	}
	clk.Advance(2 * time.Second)
	if _, err := s.Get(ctx, "done"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("Get(expired) = %v, want ErrNotFound", err)
	}
	if page, _ := s.List(ctx, taskstore.Query{PageSize: 10}); page.TotalSize != 1 {
		t.Errorf("List still counts the expired task: total=%d", page.TotalSize)
	}
	if _, err := s.Get(ctx, "live"); err != nil {
		t.Errorf("interrupted task expired: %v", err)
	}
	// The next write sweeps it out of memory.
	if err := s.Create(ctx, storetest.NewRecord("new", "c", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 2 {
		t.Errorf("Len = %d after sweep, want 2", n)
	}
}

func TestMemory_MaxTasksEvictsOldestTerminalNeverLiveWork(t *testing.T) {
	ctx := context.Background()
	s := taskstore.NewMemory(taskstore.WithMaxTasks(3))
	create := func(id string, state a2av1.TaskState) error {
		return s.Create(ctx, storetest.NewRecord(id, "c", state, 0))
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := create(id, a2av1.TaskState_TASK_STATE_WORKING); err != nil {
			t.Fatal(err)
		}
	}
	if err := create("d", a2av1.TaskState_TASK_STATE_WORKING); !errors.Is(err, taskstore.ErrFull) {
		t.Fatalf("Create beyond the bound with only live tasks = %v, want ErrFull", err)
	}
	// Complete b then a: b is the oldest terminal task and goes first.
	for _, id := range []string{"b", "a"} {
		rec, _ := s.Get(ctx, id)
		done := storetest.NewRecord(id, "c", a2av1.TaskState_TASK_STATE_COMPLETED, time.Second)
		if _, err := s.Update(ctx, id, rec.Version, taskstore.Update{Task: done.Task}); err != nil {
			t.Fatal(err)
		}
	}
	if err := create("d", a2av1.TaskState_TASK_STATE_WORKING); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("oldest terminal task b still present: %v", err)
	}
	for _, id := range []string{"a", "c", "d"} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Errorf("Get(%s) = %v", id, err)
		}
	}
}

func TestMemory_EventLogBounded(t *testing.T) {
	ctx := context.Background()
	s := taskstore.NewMemory(taskstore.WithMaxEventsPerTask(3))
	rec := storetest.NewRecord("t", "c", a2av1.TaskState_TASK_STATE_WORKING, 0)
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	v := int64(1)
	for i := range 5 {
		next := storetest.NewRecord("t", "c", a2av1.TaskState_TASK_STATE_WORKING, time.Duration(i)*time.Second)
		ev := &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_Task{Task: next.Task}}
		var err error
		if v, err = s.Update(ctx, "t", v, taskstore.Update{Task: next.Task, Event: ev}); err != nil {
			t.Fatal(err)
		}
	}
	// Versions 2..6 were logged; only 4, 5, 6 are kept.
	if _, err := s.Events(ctx, "t", 2); !errors.Is(err, taskstore.ErrEventsTruncated) {
		t.Errorf("Events(2) = %v, want ErrEventsTruncated", err)
	}
	evs, err := s.Events(ctx, "t", 3)
	if err != nil || len(evs) != 3 || evs[0].Seq != 4 {
		t.Errorf("Events(3) = %v, %v; want seqs 4..6", evs, err)
	}
	// Terminal tasks keep no log: nothing can follow them.
	done := storetest.NewRecord("t", "c", a2av1.TaskState_TASK_STATE_COMPLETED, time.Minute)
	if _, err := s.Update(ctx, "t", v, taskstore.Update{Task: done.Task, Event: &a2av1.StreamResponse{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Events(ctx, "t", 6); !errors.Is(err, taskstore.ErrEventsTruncated) {
		t.Errorf("Events on terminal task = %v, want ErrEventsTruncated", err)
	}
}

// TestMemory_Soak pushes 100,000 tasks through a store bounded to 1,000 and
// checks that it never holds more and that its heap stays flat.
func TestMemory_Soak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	const total, bound = 100_000, 1_000
	ctx := context.Background()
	s := taskstore.NewMemory(taskstore.WithMaxTasks(bound))
	heapAt := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var afterWarmup uint64
	for i := range total {
		id := fmt.Sprintf("task-%06d", i)
		rec := storetest.NewRecord(id, "c", a2av1.TaskState_TASK_STATE_WORKING, time.Duration(i)*time.Millisecond)
		if err := s.Create(ctx, rec); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		v := int64(1)
		for j := range 4 {
			state := a2av1.TaskState_TASK_STATE_WORKING
			if j == 3 {
				state = a2av1.TaskState_TASK_STATE_COMPLETED
			}
			next := storetest.NewRecord(id, "c", state, time.Duration(i)*time.Millisecond+time.Duration(j)*time.Microsecond)
			var err error
			if v, err = s.Update(ctx, id, v, taskstore.Update{Task: next.Task, Event: &a2av1.StreamResponse{}}); err != nil {
				t.Fatal(err)
			}
		}
		if n := s.Len(); n > bound {
			t.Fatalf("store holds %d tasks, bound is %d", n, bound)
		}
		if i == 2*bound {
			afterWarmup = heapAt()
		}
	}
	end := heapAt()
	t.Logf("heap after %d tasks: %d KiB (after warm-up %d KiB); store holds %d", total, end/1024, afterWarmup/1024, s.Len())
	if end > afterWarmup*2+1<<20 {
		t.Errorf("heap grew from %d to %d bytes while the store stayed at %d tasks", afterWarmup, end, bound)
	}
}

func TestMemory_InterruptedTasksExpireAndYieldToNewWork(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	s := taskstore.NewMemory(taskstore.WithMaxTasks(2), taskstore.WithInterruptedRetention(time.Hour), taskstore.WithClock(clk.Now))
	for _, id := range []string{"waiting-1", "waiting-2"} {
		if err := s.Create(ctx, storetest.NewRecord(id, "c", a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, 0)); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	// Full of abandoned conversations: new work evicts the oldest one.
	if err := s.Create(ctx, storetest.NewRecord("new", "c", a2av1.TaskState_TASK_STATE_WORKING, 0)); err != nil {
		t.Fatalf("Create with only interrupted tasks stored = %v, want the oldest evicted", err)
	}
	if _, err := s.Get(ctx, "waiting-1"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("oldest interrupted task still present: %v", err)
	}
	// A task that resumes leaves the waiting list; one that keeps waiting
	// expires after its retention.
	rec, _ := s.Get(ctx, "new")
	if _, err := s.Update(ctx, "new", rec.Version, taskstore.Update{Task: storetest.NewRecord("new", "c", a2av1.TaskState_TASK_STATE_AUTH_REQUIRED, 0).Task}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Minute)
	if _, err := s.Get(ctx, "waiting-2"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("task waiting for 60 minutes still present: %v", err)
	}
	if _, err := s.Get(ctx, "new"); err != nil {
		t.Errorf("task waiting for 59 minutes expired: %v", err)
	}
	if page, _ := s.List(ctx, taskstore.Query{PageSize: 10}); page.TotalSize != 1 {
		t.Errorf("List total = %d after expiry, want 1", page.TotalSize)
	}
}

// BenchmarkMemory_ListFirstPage lists 50 of 100,000 tasks of one caller:
// without filters the cost must not depend on the number of tasks.
func BenchmarkMemory_ListFirstPage(b *testing.B) {
	ctx := context.Background()
	s := taskstore.NewMemory()
	for i := range 100_000 {
		if err := s.Create(ctx, storetest.NewRecord(fmt.Sprintf("t%06d", i), "c", a2av1.TaskState_TASK_STATE_WORKING, time.Duration(i)*time.Millisecond)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		page, err := s.List(ctx, taskstore.Query{PageSize: 50})
		if err != nil || len(page.Records) != 50 || page.TotalSize != 100_000 {
			b.Fatalf("List = %d records, total %d, %v", len(page.Records), page.TotalSize, err)
		}
	}
}
