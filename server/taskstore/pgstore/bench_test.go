package pgstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/taskstore/storetest"
)

// shortTask is what a short task costs the store: a Create, then a
// WORKING and a COMPLETED update each logging its status event.
func shortTask(b *testing.B, s *Store, id string) {
	ctx := context.Background()
	rec := storetest.NewRecord(id, "ctx", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)
	if err := s.Create(ctx, rec); err != nil {
		b.Fatal(err)
	}
	v := int64(1)
	for i, state := range []a2av1.TaskState{a2av1.TaskState_TASK_STATE_WORKING, a2av1.TaskState_TASK_STATE_COMPLETED} {
		task := storetest.NewRecord(id, "ctx", state, time.Duration(i+1)*time.Second).Task
		ev := &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_StatusUpdate{StatusUpdate: &a2av1.TaskStatusUpdateEvent{
			TaskId: id, ContextId: "ctx", Status: task.GetStatus(),
		}}}
		var err error
		if v, err = s.Update(ctx, id, v, taskstore.Update{Task: task, Event: ev}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateUpdateComplete is one short task at a time: the latency
// of the three round trips, each a commit.
func BenchmarkCreateUpdateComplete(b *testing.B) {
	s := newStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		shortTask(b, s, fmt.Sprintf("bench-%d", i))
		i++
	}
}

// BenchmarkCreateUpdateCompleteParallel runs short tasks from GOMAXPROCS
// goroutines, which share the pool: throughput with concurrent commits.
func BenchmarkCreateUpdateCompleteParallel(b *testing.B) {
	s := newStore(b)
	b.ReportAllocs()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			shortTask(b, s, fmt.Sprintf("bench-%d", n.Add(1)))
		}
	})
}
