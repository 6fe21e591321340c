package storetest

import (
	"context"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// UnreadableDelivery checks that a queued notification the store cannot
// decode comes back flagged (Delivery.Err), next to the readable ones,
// instead of failing every claim, and that completing it removes it. The
// store queues one notification for config "bad" and one for "good" of
// task t1; corrupt, which knows the store's layout, must then damage the
// stored notification of config "bad". Store-specific tests call it, since
// only they can do the damage.
func UnreadableDelivery(t *testing.T, s taskstore.Store, corrupt func(configID string)) {
	t.Helper()
	o, rec := withWebhooks(t, s, "bad", "good")
	ctx := context.Background()
	next := withState(rec, a2av1.TaskState_TASK_STATE_WORKING, time.Second)
	if _, err := s.Update(ctx, "t1", 1, taskstore.Update{Task: next, Event: statusEvent(next), Push: true}); err != nil {
		t.Fatal(err)
	}
	corrupt("bad")
	ds, err := o.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(ds) != 2 {
		t.Fatalf("ClaimDeliveries = %d deliveries, %v; want 2, nil", len(ds), err)
	}
	var bad taskstore.Delivery
	for _, d := range ds {
		switch {
		case d.Err != nil:
			bad = d
			if d.Config != nil || d.Event != nil {
				t.Errorf("unreadable delivery carries Config %v / Event %v", d.Config, d.Event)
			}
		case d.Config.GetId() != "good" || d.Event == nil:
			t.Errorf("readable delivery = %+v", d)
		}
	}
	if bad.Err == nil {
		t.Fatal("no delivery was flagged unreadable")
	}
	if err := o.CompleteDelivery(ctx, bad.ID); err != nil {
		t.Fatal(err)
	}
}
