package sqlitestore

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// shortTask runs what a short task costs the store: create, WORKING with
// an event, COMPLETED with an event.
func shortTask(ctx context.Context, s taskstore.Store, id string) error {
	msg := &a2av1.Message{MessageId: "m-" + id, Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: "hello there"}}}}
	task := func(state a2av1.TaskState) *a2av1.Task {
		return &a2av1.Task{
			Id: id, ContextId: "ctx-" + id,
			Status:  &a2av1.TaskStatus{State: state, Timestamp: timestamppb.Now()},
			History: []*a2av1.Message{msg},
		}
	}
	event := func(t *a2av1.Task) *a2av1.StreamResponse {
		return &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_StatusUpdate{StatusUpdate: &a2av1.TaskStatusUpdateEvent{
			TaskId: t.Id, ContextId: t.ContextId, Status: t.Status,
		}}}
	}
	t0 := task(a2av1.TaskState_TASK_STATE_SUBMITTED)
	if err := s.Create(ctx, taskstore.Record{Task: t0, Updated: t0.Status.Timestamp.AsTime()}); err != nil {
		return err
	}
	v := int64(1)
	for _, state := range []a2av1.TaskState{a2av1.TaskState_TASK_STATE_WORKING, a2av1.TaskState_TASK_STATE_COMPLETED} {
		next := task(state)
		var err error
		if v, err = s.Update(ctx, id, v, taskstore.Update{Task: next, Event: event(next)}); err != nil {
			return err
		}
	}
	return nil
}

func benchStores(b *testing.B, run func(b *testing.B, s taskstore.Store)) {
	b.Run("sqlite", func(b *testing.B) {
		s, _ := openTest(b)
		run(b, s)
	})
	b.Run("sqlite_fullsync", func(b *testing.B) {
		s, _ := openTest(b, WithFullSync())
		run(b, s)
	})
	b.Run("memory", func(b *testing.B) {
		run(b, taskstore.NewMemory(taskstore.WithMaxTasks(10_000_000), taskstore.WithTerminalRetention(time.Hour)))
	})
}

func BenchmarkCreateUpdateComplete(b *testing.B) {
	benchStores(b, func(b *testing.B, s taskstore.Store) {
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := shortTask(ctx, s, "task-"+strconv.Itoa(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreateUpdateCompleteParallel runs short tasks from 16
// goroutines per CPU, as a server does for as many concurrent clients:
// concurrent writers share commits.
func BenchmarkCreateUpdateCompleteParallel(b *testing.B) {
	benchStores(b, func(b *testing.B, s taskstore.Store) {
		ctx := context.Background()
		var n atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := shortTask(ctx, s, "task-"+strconv.FormatInt(n.Add(1), 10)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkGet(b *testing.B) {
	benchStores(b, func(b *testing.B, s taskstore.Store) {
		ctx := context.Background()
		if err := shortTask(ctx, s, "t"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Get(ctx, "t"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
