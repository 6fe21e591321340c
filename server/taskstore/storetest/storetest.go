// Package storetest is the conformance suite for taskstore.Store
// implementations. Every backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) taskstore.Store { return newStore(t) })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Run exercises a Store obtained from newStore (a fresh, empty store per
// subtest).
func Run(t *testing.T, newStore func(t *testing.T) taskstore.Store) {
	t.Run("create_get", func(t *testing.T) { testCreateGet(t, newStore(t)) })
	t.Run("versioned_update", func(t *testing.T) { testVersionedUpdate(t, newStore(t)) })
	t.Run("concurrent_writers_one_wins", func(t *testing.T) { testConcurrentWriters(t, newStore(t)) })
	t.Run("event_log", func(t *testing.T) { testEventLog(t, newStore(t)) })
	t.Run("list_order_filters_paging", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("list_scoped_by_tenant_and_owner", func(t *testing.T) { testListScope(t, newStore(t)) })
	t.Run("list_bad_token", func(t *testing.T) { testListBadToken(t, newStore(t)) })
	t.Run("push_configs", func(t *testing.T) { testPushConfigs(t, newStore(t)) })
	t.Run("create_with_push_configs", func(t *testing.T) { testCreateWithPush(t, newStore(t)) })
	t.Run("outbox", func(t *testing.T) { testOutbox(t, newStore(t)) })
	t.Run("outbox_order_per_webhook", func(t *testing.T) { testOutboxOrder(t, newStore(t)) })
	t.Run("outbox_lease", func(t *testing.T) { testOutboxLease(t, newStore(t)) })
	t.Run("reaper", func(t *testing.T) { testReaper(t, newStore(t)) })
	t.Run("count_by_state", func(t *testing.T) { testCountByState(t, newStore(t)) })
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// NewRecord builds a record whose status timestamp is base + offset.
func NewRecord(id, contextID string, state a2av1.TaskState, offset time.Duration) taskstore.Record {
	ts := base.Add(offset)
	return taskstore.Record{
		Task: &a2av1.Task{
			Id: id, ContextId: contextID,
			Status: &a2av1.TaskStatus{State: state, Timestamp: timestamppb.New(ts)},
		},
		Updated: ts,
	}
}

func withState(r taskstore.Record, state a2av1.TaskState, offset time.Duration) *a2av1.Task {
	ts := base.Add(offset)
	return &a2av1.Task{
		Id: r.Task.GetId(), ContextId: r.Task.GetContextId(),
		Status: &a2av1.TaskStatus{State: state, Timestamp: timestamppb.New(ts)},
	}
}

func statusEvent(task *a2av1.Task) *a2av1.StreamResponse {
	return &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_StatusUpdate{StatusUpdate: &a2av1.TaskStatusUpdateEvent{
		TaskId: task.GetId(), ContextId: task.GetContextId(), Status: task.GetStatus(),
	}}}
}

func testCreateGet(t *testing.T, s taskstore.Store) {
	ctx := context.Background()
	rec := NewRecord("t1", "c1", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)
	rec.Owner, rec.Tenant = "alice", "acme"
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Owner != "alice" || got.Tenant != "acme" || got.Task.GetContextId() != "c1" || !got.Updated.Equal(rec.Updated) {
		t.Errorf("Get = %+v", got)
	}
	if err := s.Create(ctx, rec); !errors.Is(err, taskstore.ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
}

func testVersionedUpdate(t *testing.T, s taskstore.Store) {
	ctx := context.Background()
	rec := NewRecord("t1", "c1", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)
	mustCreate(t, s, rec)
	next := withState(rec, a2av1.TaskState_TASK_STATE_WORKING, time.Second)
	v, err := s.Update(ctx, "t1", 1, taskstore.Update{Task: next, Event: statusEvent(next)})
	if err != nil || v != 2 {
		t.Fatalf("Update = %d, %v; want 2, nil", v, err)
	}
	if _, err := s.Update(ctx, "t1", 1, taskstore.Update{Task: next}); !errors.Is(err, taskstore.ErrConflict) {
		t.Errorf("stale Update = %v, want ErrConflict", err)
	}
	if _, err := s.Update(ctx, "nope", 1, taskstore.Update{Task: next}); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("Update(unknown) = %v, want ErrNotFound", err)
	}
	got, _ := s.Get(ctx, "t1")
	if got.Version != 2 || got.Task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_WORKING || !got.Updated.Equal(base.Add(time.Second)) {
		t.Errorf("after Update: %+v", got)
	}
}

func testConcurrentWriters(t *testing.T, s taskstore.Store) {
	ctx := context.Background()
	rec := NewRecord("t1", "c1", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)
	mustCreate(t, s, rec)
	const writers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range writers {
		wg.Go(func() {
			next := withState(rec, a2av1.TaskState_TASK_STATE_WORKING, time.Duration(i+1)*time.Second)
			if _, err := s.Update(ctx, "t1", 1, taskstore.Update{Task: next}); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, taskstore.ErrConflict) {
				t.Errorf("Update: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d writers won the same version, want exactly 1", wins)
	}
}

func testEventLog(t *testing.T, s taskstore.Store) {
	ctx := context.Background()
	rec := NewRecord("t1", "c1", a2av1.TaskState_TASK_STATE_SUBMITTED, 0)
	mustCreate(t, s, rec)
	version := int64(1)
	for i := 1; i <= 4; i++ {
		next := withState(rec, a2av1.TaskState_TASK_STATE_WORKING, time.Duration(i)*time.Second)
		var ev *a2av1.StreamResponse
		if i != 2 { // version 3 streams nothing (e.g. a history append)
			ev = statusEvent(next)
		}
		v, err := s.Update(ctx, "t1", version, taskstore.Update{Task: next, Event: ev})
		if err != nil {
			t.Fatal(err)
		}
		version = v
	}
	evs, err := s.Events(ctx, "t1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(evs); fmt.Sprint(got) != "[2 4 5]" {
		t.Errorf("Events(0) seqs = %v, want [2 4 5]", got)
	}
	evs, _ = s.Events(ctx, "t1", 3)
	if got := seqs(evs); fmt.Sprint(got) != "[4 5]" {
		t.Errorf("Events(3) seqs = %v, want [4 5]", got)
	}
	if evs, err := s.Events(ctx, "t1", 5); err != nil || len(evs) != 0 {
		t.Errorf("Events(latest) = %v, %v; want none", evs, err)
	}
	if _, err := s.Events(ctx, "nope", 0); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("Events(unknown) = %v, want ErrNotFound", err)
	}
}

func seqs(evs []taskstore.Event) []int64 {
	var out []int64
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func testList(t *testing.T, s taskstore.Store) {
	ctx := context.Background()
	// t00..t09 in context c-even/c-odd; t09 is the newest.
	for i := range 10 {
		state := a2av1.TaskState_TASK_STATE_WORKING
		if i%3 == 0 {
			state = a2av1.TaskState_TASK_STATE_COMPLETED
		}
		mustCreate(t, s, NewRecord(fmt.Sprintf("t%02d", i), []string{"c-even", "c-odd"}[i%2], state, time.Duration(i)*time.Second))
	}
	page, err := s.List(ctx, taskstore.Query{PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(page); got != "t09 t08 t07 t06" || page.TotalSize != 10 || page.NextPageToken == "" {
		t.Fatalf("page 1 = %s total=%d next=%q", got, page.TotalSize, page.NextPageToken)
	}
	var all []string
	all = append(all, ids(page))
	for page.NextPageToken != "" {
		page, err = s.List(ctx, taskstore.Query{PageSize: 4, PageToken: page.NextPageToken})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids(page))
	}
	if fmt.Sprint(all) != "[t09 t08 t07 t06 t05 t04 t03 t02 t01 t00]" {
		t.Errorf("pages = %v", all)
	}
	tests := []struct {
		name string
		q    taskstore.Query
		want string
	}{
		{"context", taskstore.Query{ContextID: "c-odd", PageSize: 50}, "t09 t07 t05 t03 t01"},
		{"state", taskstore.Query{State: a2av1.TaskState_TASK_STATE_COMPLETED, PageSize: 50}, "t09 t06 t03 t00"},
		{"updated_after_inclusive", taskstore.Query{UpdatedAfter: base.Add(7 * time.Second), PageSize: 50}, "t09 t08 t07"},
		{"combined", taskstore.Query{ContextID: "c-even", State: a2av1.TaskState_TASK_STATE_WORKING, PageSize: 50}, "t08 t04 t02"},
		{"nothing", taskstore.Query{ContextID: "none", PageSize: 50}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.List(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(page); got != tt.want || page.NextPageToken != "" || page.TotalSize != len(page.Records) {
				t.Errorf("List = %q total=%d next=%q, want %q", got, page.TotalSize, page.NextPageToken, tt.want)
			}
		})
	}
	// An update moves a task to the front.
	rec, _ := s.Get(ctx, "t00")
	next := withState(rec, a2av1.TaskState_TASK_STATE_WORKING, time.Minute)
	if _, err := s.Update(ctx, "t00", rec.Version, taskstore.Update{Task: next}); err != nil {
		t.Fatal(err)
	}
	page, _ = s.List(ctx, taskstore.Query{PageSize: 2})
	if got := ids(page); got != "t00 t09" {
		t.Errorf("after update, first page = %s", got)
	}
}

func testListScope(t *testing.T, s taskstore.Store) {
	ctx := context.Background()
	for i, scope := range [][2]string{{"", ""}, {"", "alice"}, {"acme", "alice"}, {"acme", "bob"}} {
		rec := NewRecord(fmt.Sprintf("t%d", i), "c", a2av1.TaskState_TASK_STATE_WORKING, time.Duration(i)*time.Second)
		rec.Tenant, rec.Owner = scope[0], scope[1]
		mustCreate(t, s, rec)
	}
	for _, tt := range []struct{ tenant, owner, want string }{
		{"", "", "t0"}, {"", "alice", "t1"}, {"acme", "alice", "t2"}, {"acme", "bob", "t3"}, {"other", "alice", ""},
	} {
		page, err := s.List(ctx, taskstore.Query{Tenant: tt.tenant, Owner: tt.owner, PageSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(page); got != tt.want {
			t.Errorf("List(tenant=%q owner=%q) = %q, want %q", tt.tenant, tt.owner, got, tt.want)
		}
	}
}

func testListBadToken(t *testing.T, s taskstore.Store) {
	for _, tok := range []string{"garbage!", "dDE6eHg6", taskstore.EncodeOffsetCursor(3)} {
		if _, err := s.List(context.Background(), taskstore.Query{PageSize: 5, PageToken: tok}); !errors.Is(err, taskstore.ErrInvalidPageToken) {
			t.Errorf("List(token %q) = %v, want ErrInvalidPageToken", tok, err)
		}
	}
}

func testPushConfigs(t *testing.T, s taskstore.Store) {
	ctx := context.Background()
	mustCreate(t, s, NewRecord("t1", "c1", a2av1.TaskState_TASK_STATE_WORKING, 0))
	cfg := func(id, url string) *a2av1.TaskPushNotificationConfig {
		return &a2av1.TaskPushNotificationConfig{TaskId: "t1", Id: id, Url: url}
	}
	if err := s.PutPushConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "nope", Id: "x", Url: "https://x"}); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("Put for unknown task = %v, want ErrNotFound", err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := s.PutPushConfig(ctx, cfg(id, "https://hook/"+id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutPushConfig(ctx, cfg("b", "https://hook/b2")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPushConfig(ctx, "t1", "b")
	if err != nil || got.GetUrl() != "https://hook/b2" {
		t.Errorf("Get(b) = %v, %v; want the replaced config", got, err)
	}
	page1, next, err := s.ListPushConfigs(ctx, "t1", 2, "")
	if err != nil || len(page1) != 2 || next == "" || page1[0].GetId() != "a" || page1[1].GetId() != "b" {
		t.Fatalf("List page 1 = %v next=%q err=%v", page1, next, err)
	}
	page2, next2, err := s.ListPushConfigs(ctx, "t1", 2, next)
	if err != nil || len(page2) != 1 || next2 != "" || page2[0].GetId() != "c" {
		t.Fatalf("List page 2 = %v next=%q err=%v", page2, next2, err)
	}
	if _, _, err := s.ListPushConfigs(ctx, "t1", 2, "%%%"); !errors.Is(err, taskstore.ErrInvalidPageToken) {
		t.Errorf("List(bad token) = %v, want ErrInvalidPageToken", err)
	}
	if err := s.DeletePushConfig(ctx, "t1", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePushConfig(ctx, "t1", "a"); err != nil {
		t.Errorf("second Delete = %v, want idempotent success", err)
	}
	if _, err := s.GetPushConfig(ctx, "t1", "a"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("Get(deleted) = %v, want ErrNotFound", err)
	}
	all, _, _ := s.ListPushConfigs(ctx, "t1", 0, "")
	if len(all) != 2 {
		t.Errorf("after delete, %d configs, want 2", len(all))
	}
}

// testCreateWithPush: a send's inline config is stored with its task, and
// a Create that fails stores neither.
func testCreateWithPush(t *testing.T, s taskstore.Store) {
	ctx := context.Background()
	hook := func(task, id string) *a2av1.TaskPushNotificationConfig {
		return &a2av1.TaskPushNotificationConfig{TaskId: task, Id: id, Url: "https://hook/" + id}
	}
	if err := s.Create(ctx, NewRecord("t1", "c1", a2av1.TaskState_TASK_STATE_SUBMITTED, 0), hook("t1", "inline")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPushConfig(ctx, "t1", "inline")
	if err != nil || got.GetUrl() != "https://hook/inline" {
		t.Fatalf("GetPushConfig after Create = %v, %v", got, err)
	}
	// An event after the create is queued for the config (stores with an
	// outbox): it was in place before the first state change.
	if o, ok := s.(taskstore.Outbox); ok {
		next := withState(NewRecord("t1", "c1", 0, 0), a2av1.TaskState_TASK_STATE_WORKING, time.Second)
		if _, err := s.Update(ctx, "t1", 1, taskstore.Update{Task: next, Event: statusEvent(next), Push: true}); err != nil {
			t.Fatal(err)
		}
		ds, err := o.ClaimDeliveries(ctx, 10, time.Minute)
		if err != nil || len(ds) != 1 || ds[0].Config.GetId() != "inline" {
			t.Fatalf("ClaimDeliveries = %v, %v; want the working event for the inline config", ds, err)
		}
	}
	if err := s.Create(ctx, NewRecord("t1", "c1", a2av1.TaskState_TASK_STATE_SUBMITTED, 0), hook("t1", "second")); !errors.Is(err, taskstore.ErrExists) {
		t.Fatalf("Create of a taken id = %v, want ErrExists", err)
	}
	if _, err := s.GetPushConfig(ctx, "t1", "second"); !errors.Is(err, taskstore.ErrNotFound) {
		t.Errorf("a failed Create stored its push config: GetPushConfig = %v", err)
	}
}

func ids(p taskstore.Page) string {
	var s string
	for i, r := range p.Records {
		if i > 0 {
			s += " "
		}
		s += r.Task.GetId()
	}
	return s
}

func mustCreate(t *testing.T, s taskstore.Store, rec taskstore.Record) {
	t.Helper()
	if err := s.Create(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}
