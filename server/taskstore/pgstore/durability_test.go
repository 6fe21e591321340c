package pgstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
)

// TestDurableAcrossReopen: everything a process stored is there for the
// next one: tasks, their event logs, push configs, queued deliveries and
// runner leases.
func TestDurableAcrossReopen(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	ctx := context.Background()

	first := openIn(t, schema)
	rec := create(t, first, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	rec.Runner = "r1"
	if err := first.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "t1", Id: "hook", Url: "https://hook/", Token: "tok"}); err != nil {
		t.Fatal(err)
	}
	v := advance(t, first, rec, 1, a2av1.TaskState_TASK_STATE_WORKING, time.Second, true, false)
	v = advance(t, first, rec, v, a2av1.TaskState_TASK_STATE_COMPLETED, 2*time.Second, true, true)
	if err := first.KeepAlive(ctx, "r1", time.Hour); err != nil {
		t.Fatal(err)
	}
	first.Close()

	second := openIn(t, schema)
	got, err := second.Get(ctx, "t1")
	if err != nil || got.Version != v || got.Runner != "r1" || got.Task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("Get after reopening = %+v, %v", got, err)
	}
	// Unlike the in-memory store, the log outlives the task's end: a
	// client may resume its stream to read how the task ended.
	evs, err := second.Events(ctx, "t1", 0)
	if err != nil || fmt.Sprint(seqsOf(evs)) != "[2 3]" {
		t.Errorf("Events after reopening = %v, %v; want seqs [2 3]", seqsOf(evs), err)
	}
	if len(evs) == 2 && evs[1].Response.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Errorf("last event = %v", evs[1].Response)
	}
	cfg, err := second.GetPushConfig(ctx, "t1", "hook")
	if err != nil || cfg.GetToken() != "tok" {
		t.Errorf("GetPushConfig after reopening = %v, %v", cfg, err)
	}
	ds, err := second.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].Seq != v || ds[0].Config.GetUrl() != "https://hook/" {
		t.Errorf("ClaimDeliveries after reopening = %+v, %v; want the seq %d delivery", ds, err, v)
	}
	orphans, err := second.Orphans(ctx, 10)
	if err != nil || len(orphans) != 0 {
		t.Errorf("Orphans after reopening = %v, %v; want none", orphans, err)
	}
}
