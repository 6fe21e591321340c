package registry_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/internal/pgtest"
	"github.com/a2agrpc/a2agrpc/registry"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/pgreg"
)

// Two replicas over one store answer alike: each one's view follows the
// other's writes, and an expiry is reported once to each watcher.
func TestReplicasShareStore(t *testing.T) {
	st := regstore.NewMemory()
	t.Cleanup(func() { st.Close() })
	testReplicas(t, st, st)
}

// The same over PostgreSQL, each replica with a store (a connection pool
// and a LISTEN connection) of its own, as separate processes have.
func TestReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.SchemaName(t, "registry")
	open := func() regstore.Store {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		st, err := pgreg.Open(ctx, dsn, pgreg.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	testReplicas(t, open(), open())
}

// testReplicas runs two registries, on stores a and b of one database.
func testReplicas(t *testing.T, sa, sb regstore.Store) {
	_, a := startRegistry(t, registry.Config{Store: sa})
	_, b := startRegistry(t, registry.Config{Store: sb})
	ctx := context.Background()
	wa, wb := watch(t, a, nil), watch(t, b, nil)
	wa.next(t)
	wb.next(t)

	mustRegister(t, a, byCard("shared", testCard("shared", "127.0.0.1:8001", skill("s")), 0))
	wb.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, "shared")
	if got := search(t, b, &registryv1.AgentFilter{SkillId: "s"}, 0); len(got) != 1 {
		t.Fatalf("replica b's search = %v", got)
	}
	if _, err := b.Heartbeat(ctx, "shared"); err != nil { // the same (anonymous) owner
		t.Fatal(err)
	}
	wa.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_UPDATED, "shared")
	if err := b.Deregister(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if ev := wa.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED, "shared"); ev.GetReason() != "deregistered" {
		t.Fatalf("reason = %q", ev.GetReason())
	}
	wb.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED, "shared")

	mustRegister(t, a, byCard("brief", testCard("brief", "127.0.0.1:8002"), 300*time.Millisecond))
	for _, w := range []*watcher{wa, wb} {
		w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, "brief")
		if ev := w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED, "brief"); ev.GetReason() != "expired" {
			t.Fatalf("reason = %q", ev.GetReason())
		}
	}
	// Nothing more about it: the expiry was reported once.
	mustRegister(t, a, byCard("marker", testCard("marker", "127.0.0.1:8003"), 0))
	for _, w := range []*watcher{wa, wb} {
		if ev := w.next(t); ev.GetAgent().GetAgentId() != "marker" {
			t.Fatalf("after the expiry: %v", ev)
		}
	}
}

// feedStore is a memory store whose change feed the test controls: writes
// made directly to the memory store are not reported until the test says
// the feed lost changes (Resync) or ends it.
type feedStore struct {
	*regstore.Memory
	mu       sync.Mutex
	feed     *feed
	watches  atomic.Int32
	failGets atomic.Bool
}

type feed struct {
	ch   chan regstore.Change
	once sync.Once
}

func (f *feed) close() { f.once.Do(func() { close(f.ch) }) }

func (f *feedStore) Watch(ctx context.Context) (<-chan regstore.Change, error) {
	fd := &feed{ch: make(chan regstore.Change, 16)}
	context.AfterFunc(ctx, fd.close) // as every store: the feed ends with ctx
	f.mu.Lock()
	f.feed = fd
	f.mu.Unlock()
	f.watches.Add(1)
	return fd.ch, nil
}

func (f *feedStore) Get(ctx context.Context, id string) (*registryv1.AgentRegistration, error) {
	if f.failGets.Load() {
		return nil, fmt.Errorf("get %s: %w", id, regstore.ErrUnavailable)
	}
	return f.Memory.Get(ctx, id)
}

// send delivers c on the current feed; end closes it.
func (f *feedStore) send(c regstore.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.feed.ch <- c
}

func (f *feedStore) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.feed.close()
}

// After the store says changes were missed, or its feed ends, the replica
// reloads everything and tells watchers the difference.
func TestViewReloads(t *testing.T) {
	st := &feedStore{Memory: regstore.NewMemory()}
	t.Cleanup(func() { st.Close() })
	_, c := startRegistry(t, registry.Config{Store: st})
	ctx := context.Background()
	mustRegister(t, c, byCard("known", testCard("known", "127.0.0.1:8101"), 0))
	w := watch(t, c, nil)
	w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_SYNCED, "")

	// Behind the replica's back: one registration appears, one goes.
	now := time.Now()
	if _, err := st.Memory.Put(ctx, &registryv1.AgentRegistration{AgentId: "sneaky", Card: testCard("sneaky", "127.0.0.1:8102"),
		Status: registryv1.AgentStatus_AGENT_STATUS_HEALTHY, ExpireTime: timestamppb.New(now.Add(time.Minute))}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Memory.Delete(ctx, "known", 0, regstore.ReasonDeregistered); err != nil {
		t.Fatal(err)
	}
	st.send(regstore.Change{Resync: true})
	w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, "sneaky")
	w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED, "known")
	if got := search(t, c, nil, 0); len(got) != 1 || got[0] != "sneaky" {
		t.Fatalf("search after the resync = %v", got)
	}

	if _, err := st.Memory.Put(ctx, &registryv1.AgentRegistration{AgentId: "late", Card: testCard("late", "127.0.0.1:8103"),
		Status: registryv1.AgentStatus_AGENT_STATUS_HEALTHY, ExpireTime: timestamppb.New(now.Add(time.Minute))}, 0); err != nil {
		t.Fatal(err)
	}
	before := st.watches.Load()
	st.end()
	w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, "late")
	if st.watches.Load() <= before {
		t.Fatal("the replica did not watch the store again")
	}
}

func TestStoreUnavailable(t *testing.T) {
	st := &feedStore{Memory: regstore.NewMemory()}
	t.Cleanup(func() { st.Close() })
	_, c := startRegistry(t, registry.Config{Store: st})
	st.failGets.Store(true)
	_, err := c.Register(context.Background(), byCard("x", testCard("x", "127.0.0.1:8104"), 0))
	if e := wantReason(t, err, a2agrpc.ReasonUnavailable); strings.Contains(e.Message, "regstore") {
		t.Fatalf("the store's own error reached the caller: %q", e.Message)
	}
	_, err = c.Get(context.Background(), "x")
	wantReason(t, err, a2agrpc.ReasonUnavailable)
}
