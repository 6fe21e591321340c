package sqlitestore

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// task returns a task in state whose status timestamp is t0 + offset.
func task(id string, state a2av1.TaskState, offset time.Duration) *a2av1.Task {
	return &a2av1.Task{
		Id: id, ContextId: "ctx-" + id,
		Status: &a2av1.TaskStatus{State: state, Timestamp: timestamppb.New(t0.Add(offset))},
	}
}

func record(id string, state a2av1.TaskState, offset time.Duration) taskstore.Record {
	t := task(id, state, offset)
	return taskstore.Record{Task: t, Updated: t.Status.Timestamp.AsTime()}
}

func statusEvent(t *a2av1.Task) *a2av1.StreamResponse {
	return &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_StatusUpdate{StatusUpdate: &a2av1.TaskStatusUpdateEvent{
		TaskId: t.Id, ContextId: t.ContextId, Status: t.Status,
	}}}
}

// advance moves a task to state with an event, returning the new version.
func advance(t testing.TB, s taskstore.Store, id string, version int64, state a2av1.TaskState, push bool) int64 {
	t.Helper()
	next := task(id, state, time.Duration(version)*time.Second)
	v, err := s.Update(context.Background(), id, version, taskstore.Update{Task: next, Event: statusEvent(next), Push: push})
	if err != nil {
		t.Fatalf("Update(%s, %d): %v", id, version, err)
	}
	return v
}

// fakeClock is a settable clock for retention tests. The store's
// background sweep reads it too, hence the lock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// count returns the number of rows of a table, read past the store's
// liveness filters.
func count(t testing.TB, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.rdb.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
