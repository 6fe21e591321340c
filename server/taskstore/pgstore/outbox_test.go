package pgstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/server/taskstore/storetest"
)

// TestClaimAcrossReplicas: replicas claiming at the same time share the
// due deliveries without ever both getting one.
func TestClaimAcrossReplicas(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	replicas := []*Store{openIn(t, schema), openIn(t, schema), openIn(t, schema)}
	ctx := context.Background()
	const hooks = 30
	rec := create(t, replicas[0], "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	for i := range hooks {
		cfg := &a2av1.TaskPushNotificationConfig{TaskId: "t1", Id: fmt.Sprintf("h%02d", i), Url: "https://hook/"}
		if err := replicas[0].PutPushConfig(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	advance(t, replicas[0], rec, 1, a2av1.TaskState_TASK_STATE_WORKING, time.Second, true, true)

	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
	)
	for _, s := range replicas {
		wg.Go(func() {
			for {
				ds, err := s.ClaimDeliveries(ctx, 4, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != hooks {
		t.Errorf("claimed %d distinct deliveries, want %d", len(seen), hooks)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %d claimed %d times", id, n)
		}
	}
}

// TestOutboxKeepsQueueOrder: a webhook's deliveries come out one at a time
// in log order; a retry holds back the whole queue, and giving up on the
// head releases the next one at once.
func TestOutboxKeepsQueueOrder(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	rec := create(t, s, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	if err := s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "t1", Id: "a", Url: "https://hook/"}); err != nil {
		t.Fatal(err)
	}
	v := int64(1)
	for i := range 5 {
		v = advance(t, s, rec, v, a2av1.TaskState_TASK_STATE_WORKING, time.Duration(i+1)*time.Second, true, true)
	}
	var order []int64
	for range 5 {
		ds, err := s.ClaimDeliveries(ctx, 10, time.Minute)
		if err != nil || len(ds) != 1 {
			t.Fatalf("claimed %+v, %v; want the queue's head alone", ds, err)
		}
		order = append(order, ds[0].Seq)
		if err := s.RetryDelivery(ctx, ds[0].ID, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if held, _ := s.ClaimDeliveries(ctx, 10, time.Minute); len(held) != 0 {
			t.Fatalf("while seq %d waits for its retry, claimed %+v", ds[0].Seq, held)
		}
		if err := s.CompleteDelivery(ctx, ds[0].ID); err != nil { // given up on
			t.Fatal(err)
		}
	}
	if fmt.Sprint(order) != "[2 3 4 5 6]" {
		t.Errorf("delivered seqs %v, want [2 3 4 5 6]", order)
	}
	if rest, _ := s.ClaimDeliveries(ctx, 10, time.Minute); len(rest) != 0 {
		t.Errorf("after the queue drained, claimed %+v", rest)
	}
}

// TestUnreadableDeliveryIsHandedOver: a queued notification that cannot be
// decoded comes back flagged, next to the readable ones, instead of
// failing every claim; completing it removes it.
func TestUnreadableDeliveryIsHandedOver(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	s := openIn(t, schema)
	conn := admin(t)
	storetest.UnreadableDelivery(t, s, func(configID string) {
		if _, err := conn.Exec(context.Background(), fmt.Sprintf(`UPDATE %q.push_outbox SET event = '\xff'::bytea WHERE config_id = $1`, schema), configID); err != nil {
			t.Fatal(err)
		}
	})
	if n := countRows(t, conn, schema, "push_outbox"); n != 1 {
		t.Errorf("%d outbox rows after completing the unreadable one, want 1", n)
	}
}
