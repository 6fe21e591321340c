package sqlitestore

import (
	"context"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// TestUnreadableDeliveryIsHandedOver: a queued notification that cannot be
// decoded comes back flagged, next to the readable ones, instead of
// failing every claim; completing it removes it.
func TestUnreadableDeliveryIsHandedOver(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	if err := s.Create(ctx, record("t1", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"bad", "good"} {
		if err := s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "t1", Id: id, Url: "https://hook/" + id}); err != nil {
			t.Fatal(err)
		}
	}
	advance(t, s, "t1", 1, a2av1.TaskState_TASK_STATE_WORKING, true)
	// Sabotage from a connection of our own, as another program would.
	raw, err := openPool(path, 1, "busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE push_outbox SET event = x'ff' WHERE config_id = 'bad'`); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimDeliveries(ctx, 10, time.Minute)
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
	if err := s.CompleteDelivery(ctx, bad.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "push_outbox"); n != 1 {
		t.Errorf("%d outbox rows after completing the unreadable one, want 1", n)
	}
}
