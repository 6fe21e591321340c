package sqlitestore

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// TestReopen checks that everything a store holds survives Close and Open:
// tasks, event logs, push configs, queued deliveries, and that versions go
// on from where they were.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	rec := record("t1", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)
	rec.Tenant, rec.Owner, rec.Runner = "acme", "alice", "runner-1"
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "t1", Id: "hook", Url: "https://hook", Token: "tok"}); err != nil {
		t.Fatal(err)
	}
	working := task("t1", a2av1.TaskState_TASK_STATE_WORKING, time.Second)
	v, err := s.Update(ctx, "t1", 1, taskstore.Update{Task: working, Event: statusEvent(working), Push: true, Runner: "runner-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, record("t2", a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.KeepAlive(ctx, "runner-1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != v || got.Owner != "alice" || got.Tenant != "acme" || got.Runner != "runner-1" ||
		got.Task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_WORKING || !got.Updated.Equal(t0.Add(time.Second)) {
		t.Errorf("after reopen, Get = %+v", got)
	}
	evs, err := s.Events(ctx, "t1", 0)
	if err != nil || len(evs) != 1 || evs[0].Seq != v || evs[0].Response.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_WORKING {
		t.Errorf("after reopen, Events = %v, %v", evs, err)
	}
	cfg, err := s.GetPushConfig(ctx, "t1", "hook")
	if err != nil || cfg.GetToken() != "tok" {
		t.Errorf("after reopen, GetPushConfig = %v, %v", cfg, err)
	}
	ds, err := s.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].Seq != v || ds[0].Config.GetUrl() != "https://hook" {
		t.Errorf("after reopen, ClaimDeliveries = %+v, %v", ds, err)
	}
	page, err := s.List(ctx, taskstore.Query{PageSize: 10})
	if err != nil || page.TotalSize != 1 || page.Records[0].Task.GetId() != "t2" {
		t.Errorf("after reopen, List = %+v, %v", page, err)
	}
	// The file lock proved the old process gone, so its lease went with
	// it: its task is an orphan at once.
	orphans, err := s.Orphans(ctx, 10)
	if err != nil || len(orphans) != 1 || orphans[0].Task.GetId() != "t1" {
		t.Errorf("after reopen, Orphans = %v, %v; want t1, whose runner's lease died with its process", orphans, err)
	}
	if _, err := s.Update(ctx, "t1", v-1, taskstore.Update{Task: got.Task}); !errors.Is(err, taskstore.ErrConflict) {
		t.Errorf("stale Update after reopen = %v, want ErrConflict", err)
	}
	if next := advance(t, s, "t1", v, a2av1.TaskState_TASK_STATE_COMPLETED, false); next != v+1 {
		t.Errorf("version after reopen = %d, want %d", next, v+1)
	}
}

// TestMigrations checks that the schema version is recorded, that opening
// again migrates nothing, and that a file from a newer program is refused.
func TestMigrations(t *testing.T) {
	ctx := context.Background()
	migrations, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tasks.db")
	for range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := s.w.conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != len(migrations) {
			t.Errorf("user_version = %d, want %d", v, len(migrations))
		}
		if _, err := s.w.conn.ExecContext(ctx, "PRAGMA user_version = 999"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := Open(ctx, path); err == nil {
			t.Fatal("Open of a file with a newer schema succeeded")
		} else {
			t.Logf("newer schema: %v", err)
		}
		// Put the version back for the next round.
		raw, err := openPool(path, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(len(migrations))); err != nil {
			t.Fatal(err)
		}
		raw.Close()
	}
}
