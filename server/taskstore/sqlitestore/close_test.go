package sqlitestore

import (
	"context"
	"errors"
	"testing"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// TestClosed checks that a closed store answers ErrUnavailable, the
// retryable error, and that Close may be called again.
func TestClosed(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	if err := s.Create(ctx, record("t", a2av1.TaskState_TASK_STATE_WORKING, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"Create":          func() error { return s.Create(ctx, record("u", a2av1.TaskState_TASK_STATE_WORKING, 0)) },
		"Get":             func() error { _, err := s.Get(ctx, "t"); return err },
		"Update":          func() error { _, err := s.Update(ctx, "t", 1, taskstore.Update{Task: task("t", 2, 0)}); return err },
		"Events":          func() error { _, err := s.Events(ctx, "t", 0); return err },
		"List":            func() error { _, err := s.List(ctx, taskstore.Query{PageSize: 5}); return err },
		"GetPushConfig":   func() error { _, err := s.GetPushConfig(ctx, "t", "x"); return err },
		"ListPushConfigs": func() error { _, _, err := s.ListPushConfigs(ctx, "t", 0, ""); return err },
		"ClaimDeliveries": func() error { _, err := s.ClaimDeliveries(ctx, 5, time.Second); return err },
		"KeepAlive":       func() error { return s.KeepAlive(ctx, "r", time.Second) },
		"Orphans":         func() error { _, err := s.Orphans(ctx, 5); return err },
	} {
		if err := call(); !errors.Is(err, taskstore.ErrUnavailable) {
			t.Errorf("%s after Close = %v, want ErrUnavailable", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestCanceled checks that a call whose context is already done does
// nothing and says so.
func TestCanceled(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Create(ctx, record("t", a2av1.TaskState_TASK_STATE_WORKING, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Create = %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, "t"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx, taskstore.Query{PageSize: 5}); !errors.Is(err, context.Canceled) {
		t.Errorf("List = %v, want context.Canceled", err)
	}
	if _, err := s.Get(context.Background(), "t"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("the canceled Create stored the task: Get = %v", err)
	}
}
