package pgstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// watching runs s.Watch until the test ends and returns what it reports.
// It returns once the listening connection is subscribed, so that nothing
// the test does afterwards can be missed, and after the empty notification
// that says so.
func watching(t *testing.T, s *Store, schema string, adm *pgx.Conn) <-chan taskstore.Notification {
	t.Helper()
	notes := make(chan taskstore.Notification, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, func(n taskstore.Notification) { notes <- n }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v after its context ended, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Watch did not return after its context ended")
		}
	})
	waitListening(t, adm, schema, 1)
	if n := next(t, notes); n != (taskstore.Notification{}) {
		t.Fatalf("first notification %+v, want the empty one that starts listening", n)
	}
	return notes
}

// waitListening waits until n connections of schema's stores are
// subscribed.
func waitListening(t *testing.T, adm *pgx.Conn, schema string, n int) {
	t.Helper()
	eventually(t, 10*time.Second, "the watcher is not listening", func() bool {
		var got int
		err := adm.QueryRow(context.Background(), `
			SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND query ILIKE 'LISTEN%' AND state = 'idle'`, schema).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		return got == n
	})
}

func next(t *testing.T, notes <-chan taskstore.Notification) taskstore.Notification {
	t.Helper()
	select {
	case n := <-notes:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
		return taskstore.Notification{}
	}
}

func quiet(t *testing.T, notes <-chan taskstore.Notification) {
	t.Helper()
	select {
	case n := <-notes:
		t.Errorf("unexpected notification %+v", n)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestWatchAcrossStores: what one process logs, another process watching
// the same schema hears, in log order, with the right sequence numbers;
// updates that log no event are not announced.
func TestWatchAcrossStores(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	watcher, writer := openIn(t, schema), openIn(t, schema)
	notes := watching(t, watcher, schema, admin(t))

	rec := create(t, writer, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	other := create(t, writer, "t 2", a2av1.TaskState_TASK_STATE_SUBMITTED) // ids may contain spaces
	v := advance(t, writer, rec, 1, a2av1.TaskState_TASK_STATE_WORKING, time.Second, true, false)
	v = advance(t, writer, rec, v, a2av1.TaskState_TASK_STATE_WORKING, 2*time.Second, false, false) // no event
	advance(t, writer, other, 1, a2av1.TaskState_TASK_STATE_WORKING, time.Second, true, false)
	for i := range 5 {
		v = advance(t, writer, rec, v, a2av1.TaskState_TASK_STATE_WORKING, time.Duration(3+i)*time.Second, true, false)
	}
	var got []string
	for range 7 {
		n := next(t, notes)
		got = append(got, fmt.Sprintf("%s@%d", n.TaskID, n.Seq))
	}
	if want := "[t1@2 t 2@2 t1@4 t1@5 t1@6 t1@7 t1@8]"; fmt.Sprint(got) != want {
		t.Errorf("notifications = %v, want %v", got, want)
	}
	quiet(t, notes)
}

// TestWatchSchemasApart: a watcher hears nothing from another schema of
// the same database.
func TestWatchSchemasApart(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	notes := watching(t, openIn(t, schema), schema, admin(t))
	elsewhere := newStore(t)
	rec := create(t, elsewhere, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	advance(t, elsewhere, rec, 1, a2av1.TaskState_TASK_STATE_WORKING, time.Second, true, false)
	quiet(t, notes)
}

// TestWatchReconnect: when the listening connection is killed, Watch
// reconnects, says that notifications may have been missed, and goes on
// relaying.
func TestWatchReconnect(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	s := openIn(t, schema)
	adm := admin(t)
	notes := watching(t, s, schema, adm)
	rec := create(t, s, "t1", a2av1.TaskState_TASK_STATE_SUBMITTED)
	v := advance(t, s, rec, 1, a2av1.TaskState_TASK_STATE_WORKING, time.Second, true, false)
	if n := next(t, notes); n != (taskstore.Notification{TaskID: "t1", Seq: v}) {
		t.Fatalf("before the cut: %+v", n)
	}

	for round := range 2 {
		if n := terminate(t, adm, schema, "LISTEN%"); n != 1 {
			t.Fatalf("terminated %d listening backends, want 1", n)
		}
		if n := next(t, notes); n != (taskstore.Notification{}) {
			t.Fatalf("round %d: after the cut, got %+v, want the empty notification", round, n)
		}
		v = advance(t, s, rec, v, a2av1.TaskState_TASK_STATE_WORKING, time.Duration(2+round)*time.Second, true, false)
		if n := next(t, notes); n != (taskstore.Notification{TaskID: "t1", Seq: v}) {
			t.Fatalf("round %d: after reconnecting, got %+v, want t1@%d", round, n, v)
		}
	}
}

// TestWatchEndsWithStore: closing the store ends its Watch calls, and a
// closed store cannot start one.
func TestWatchEndsWithStore(t *testing.T) {
	t.Parallel()
	schema := pgtest.SchemaName(t, "pgstore_test")
	s := openIn(t, schema)
	done := make(chan error, 1)
	go func() { done <- s.Watch(context.Background(), func(taskstore.Notification) {}) }()
	waitListening(t, admin(t), schema, 1)
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watch = %v after Close, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return after Close")
	}
	if err := s.Watch(context.Background(), func(taskstore.Notification) {}); !errors.Is(err, taskstore.ErrUnavailable) {
		t.Errorf("Watch on a closed store = %v, want ErrUnavailable", err)
	}
}

func TestParseNotification(t *testing.T) {
	for _, tt := range []struct {
		payload string
		want    taskstore.Notification
		ok      bool
	}{
		{"7 t1", taskstore.Notification{TaskID: "t1", Seq: 7}, true},
		{"12 a task id", taskstore.Notification{TaskID: "a task id", Seq: 12}, true},
		{"7", taskstore.Notification{}, false},
		{"7 ", taskstore.Notification{}, false},
		{"x t1", taskstore.Notification{}, false},
		{"", taskstore.Notification{}, false},
	} {
		got, ok := parseNotification(tt.payload)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseNotification(%q) = %+v, %v; want %+v, %v", tt.payload, got, ok, tt.want, tt.ok)
		}
	}
}

func TestChannelFor(t *testing.T) {
	if got := channelFor("public"); got != "a2agrpc_events" {
		t.Errorf("channelFor(public) = %q", got)
	}
	if got := channelFor("tenant_a"); got != "a2agrpc_events.tenant_a" {
		t.Errorf("channelFor(tenant_a) = %q", got)
	}
	long := channelFor(fmt.Sprintf("%063d", 1))
	if len(long) > 63 || long == channelFor(fmt.Sprintf("%063d", 2)) {
		t.Errorf("channelFor(long) = %q: too long, or not distinct", long)
	}
}
