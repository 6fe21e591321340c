package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// testOutbox checks the transactional outbox: Update.Push queues one
// delivery per config, claims lease, retries count attempts, completion and
// config deletion remove deliveries.
func testOutbox(t *testing.T, s taskstore.Store) {
	ob, rec := withWebhooks(t, s, "a", "b")
	ctx := context.Background()
	working := withState(rec, a2av1.TaskState_TASK_STATE_WORKING, time.Second)
	v, err := s.Update(ctx, "t1", 1, taskstore.Update{Task: working, Event: statusEvent(working)}) // not pushed
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ob.ClaimDeliveries(ctx, 10, time.Minute); len(got) != 0 {
		t.Fatalf("Update without Push queued %d deliveries", len(got))
	}
	done := withState(rec, a2av1.TaskState_TASK_STATE_COMPLETED, 2*time.Second)
	v, err = s.Update(ctx, "t1", v, taskstore.Update{Task: done, Event: statusEvent(done), Push: true})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := ob.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 2 {
		t.Fatalf("claimed %d deliveries, want 2 (one per config)", len(claimed))
	}
	seen := map[string]taskstore.Delivery{}
	for _, d := range claimed {
		if d.Seq != v || d.Attempts != 0 || d.Event.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
			t.Errorf("delivery = seq %d attempts %d event %v; want seq %d, 0 attempts, the COMPLETED event", d.Seq, d.Attempts, d.Event, v)
		}
		seen[d.Config.GetId()] = d
	}
	if seen["a"].Config.GetToken() != "tok-a" || seen["b"].Config.GetUrl() != "https://hook/b" {
		t.Errorf("delivery configs = %v", seen)
	}
	if again, _ := ob.ClaimDeliveries(ctx, 10, time.Minute); len(again) != 0 {
		t.Errorf("leased deliveries claimed again: %d", len(again))
	}
	if err := ob.RetryDelivery(ctx, seen["a"].ID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	retried, _ := ob.ClaimDeliveries(ctx, 10, time.Minute)
	if len(retried) != 1 || retried[0].ID != seen["a"].ID || retried[0].Attempts != 1 {
		t.Fatalf("after retry, claimed %+v; want delivery a with 1 attempt", retried)
	}
	if err := ob.CompleteDelivery(ctx, seen["a"].ID); err != nil {
		t.Fatal(err)
	}
	if err := ob.CompleteDelivery(ctx, seen["a"].ID); err != nil {
		t.Errorf("second CompleteDelivery = %v, want idempotent success", err)
	}
	// Deleting a config drops what is queued for it: nothing is sent after
	// deletion.
	if err := s.DeletePushConfig(ctx, "t1", "b"); err != nil {
		t.Fatal(err)
	}
	if err := ob.RetryDelivery(ctx, seen["b"].ID, time.Now().Add(-time.Second)); err == nil {
		if got, _ := ob.ClaimDeliveries(ctx, 10, time.Minute); len(got) != 0 {
			t.Errorf("deleted config still has %d deliveries", len(got))
		}
	}
}

// testOutboxOrder checks that one webhook gets its notifications in
// order: a later delivery of a config cannot be claimed while an earlier one
// is queued, even when the earlier one is leased or waiting for a retry.
func testOutboxOrder(t *testing.T, s taskstore.Store) {
	ob, rec := withWebhooks(t, s, "a")
	ctx := context.Background()
	for i := range 3 {
		next := withState(rec, a2av1.TaskState_TASK_STATE_WORKING, time.Duration(i+1)*time.Second)
		if _, err := s.Update(ctx, "t1", int64(i+1), taskstore.Update{Task: next, Event: statusEvent(next), Push: true}); err != nil {
			t.Fatal(err)
		}
	}
	claim := func() []int64 {
		t.Helper()
		ds, err := ob.ClaimDeliveries(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, d := range ds {
			seqs = append(seqs, d.Seq)
		}
		return seqs
	}
	first, _ := ob.ClaimDeliveries(ctx, 10, time.Minute)
	if len(first) != 1 || first[0].Seq != 2 {
		t.Fatalf("first claim = %+v; want only the oldest (seq 2)", first)
	}
	if got := claim(); len(got) != 0 {
		t.Errorf("while seq 2 is leased, claimed %v; want nothing", got)
	}
	if err := ob.RetryDelivery(ctx, first[0].ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := claim(); len(got) != 0 {
		t.Errorf("while seq 2 waits for its retry, claimed %v; want nothing", got)
	}
	if err := ob.CompleteDelivery(ctx, first[0].ID); err != nil {
		t.Fatal(err)
	}
	second, _ := ob.ClaimDeliveries(ctx, 10, time.Minute)
	if len(second) != 1 || second[0].Seq != 3 {
		t.Fatalf("after completing seq 2, claimed %+v; want seq 3", second)
	}
	if err := ob.CompleteDelivery(ctx, second[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := claim(); fmt.Sprint(got) != "[4]" {
		t.Errorf("then claimed %v, want [4]", got)
	}
}

// testOutboxLease checks that a claimed delivery that is neither completed
// nor retried comes back once its lease runs out (its claimer died).
func testOutboxLease(t *testing.T, s taskstore.Store) {
	ob, rec := withWebhooks(t, s, "a", "b", "c")
	ctx := context.Background()
	next := withState(rec, a2av1.TaskState_TASK_STATE_WORKING, time.Second)
	if _, err := s.Update(ctx, "t1", 1, taskstore.Update{Task: next, Event: statusEvent(next), Push: true}); err != nil {
		t.Fatal(err)
	}
	first, err := ob.ClaimDeliveries(ctx, 2, time.Second)
	if err != nil || len(first) != 2 {
		t.Fatalf("claim(2) = %+v, %v; want two deliveries", first, err)
	}
	rest, _ := ob.ClaimDeliveries(ctx, 10, time.Minute)
	if len(rest) != 1 {
		t.Fatalf("second claim = %+v; want the third delivery only", rest)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		back, _ := ob.ClaimDeliveries(ctx, 10, time.Minute)
		if len(back) == 2 {
			break
		}
		if len(back) != 0 || time.Now().After(deadline) {
			t.Fatalf("after the lease ran out, claimed %d, want the 2 expired ones", len(back))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withWebhooks returns the store's outbox (skipping the test when it has
// none) and task t1, created SUBMITTED with one push config per id
// (https://hook/<id>, token tok-<id>).
func withWebhooks(t *testing.T, s taskstore.Store, ids ...string) (taskstore.Outbox, taskstore.Record) {
	t.Helper()
	ob, ok := s.(taskstore.Outbox)
	if !ok {
		t.Skipf("%T does not implement taskstore.Outbox", s)
	}
	rec := NewRecord("t1", "c1", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)
	mustCreate(t, s, rec)
	for _, id := range ids {
		cfg := &a2av1.TaskPushNotificationConfig{TaskId: "t1", Id: id, Url: "https://hook/" + id, Token: "tok-" + id}
		if err := s.PutPushConfig(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	return ob, rec
}
