package regstoretest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// testPutCreate: expect 0 creates, and only when nothing exists; a create
// against a revision that never existed conflicts.
func testPutCreate(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	in := NewReg("a", Base.Add(time.Minute))
	in.Revision = 99 // the store assigns revisions; what the caller sets is ignored
	got := MustPut(t, s, in, 0)
	if got.GetRevision() <= 0 {
		t.Fatalf("created revision = %d, want > 0", got.GetRevision())
	}
	want := proto.Clone(in).(*registryv1.AgentRegistration)
	want.Revision = got.GetRevision()
	WantEqual(t, "Put result", got, want)
	WantEqual(t, "Get after create", MustGet(t, s, "a"), want)

	_, err := s.Put(ctx, NewReg("a", Base), 0)
	WantErr(t, "Put existing with expect 0", err, regstore.ErrConflict)
	_, err = s.Put(ctx, NewReg("b", Base), 7)
	WantErr(t, "Put missing with expect 7", err, regstore.ErrConflict)
	_, err = s.Get(ctx, "b")
	WantErr(t, "Get after failed Put", err, regstore.ErrNotFound)
	WantEqual(t, "Get after failed Puts", MustGet(t, s, "a"), want)
}

// testPutUpdate: an update naming the current revision wins and bumps it;
// one naming a stale revision conflicts and changes nothing.
func testPutUpdate(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	v1 := MustPut(t, s, NewReg("a", Base), 0)

	next := proto.Clone(v1).(*registryv1.AgentRegistration)
	next.Labels["zone"] = "b"
	v2 := MustPut(t, s, next, v1.GetRevision())
	if v2.GetRevision() <= v1.GetRevision() {
		t.Fatalf("updated revision %d, want > %d", v2.GetRevision(), v1.GetRevision())
	}
	if v2.GetLabels()["zone"] != "b" {
		t.Fatalf("update not applied: %v", v2)
	}

	stale := proto.Clone(v1).(*registryv1.AgentRegistration)
	stale.Labels["zone"] = "c"
	_, err := s.Put(ctx, stale, v1.GetRevision())
	WantErr(t, "Put with stale revision", err, regstore.ErrConflict)
	_, err = s.Put(ctx, stale, v2.GetRevision()+1000)
	WantErr(t, "Put with future revision", err, regstore.ErrConflict)
	WantEqual(t, "Get after conflicts", MustGet(t, s, "a"), v2)
}

// testPutNoID: a registration without an id is refused.
func testPutNoID(t *testing.T, s regstore.Store) {
	_, err := s.Put(context.Background(), NewReg("", Base), 0)
	WantErr(t, "Put without agent_id", err, regstore.ErrNoID)
}

// testRevisionsIncrease: revisions come from one counter, so every write,
// whatever registration it touches, gets a revision greater than all
// before, even after deletes.
func testRevisionsIncrease(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	var last int64
	check := func(op string, rev int64) {
		t.Helper()
		if rev <= last {
			t.Fatalf("%s: revision %d, not above previous %d", op, rev, last)
		}
		last = rev
	}
	revs := map[string]int64{}
	for round := range 3 {
		for _, id := range []string{"b", "a", "c"} {
			r := MustPut(t, s, NewReg(id, Base), revs[id])
			check(fmt.Sprintf("round %d Put %s", round, id), r.GetRevision())
			revs[id] = r.GetRevision()
		}
	}
	if _, err := s.Delete(ctx, "c", 0, regstore.ReasonDeregistered); err != nil {
		t.Fatal(err)
	}
	r := MustPut(t, s, NewReg("c", Base), 0)
	check("recreate c", r.GetRevision())
}

// testGet: a missing id is ErrNotFound.
func testGet(t *testing.T, s regstore.Store) {
	_, err := s.Get(context.Background(), "nobody")
	WantErr(t, "Get missing", err, regstore.ErrNotFound)
}

// testDelete: expect 0 deletes at any revision, a stale revision
// conflicts, a missing id is ErrNotFound; Delete returns the registration
// as it was.
func testDelete(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	a1 := MustPut(t, s, NewReg("a", Base), 0)
	a2 := MustPut(t, s, NewReg("a", Base.Add(time.Second)), a1.GetRevision())

	_, err := s.Delete(ctx, "a", a1.GetRevision(), regstore.ReasonDeregistered)
	WantErr(t, "Delete at stale revision", err, regstore.ErrConflict)
	WantEqual(t, "Get after failed Delete", MustGet(t, s, "a"), a2)

	got, err := s.Delete(ctx, "a", a2.GetRevision(), regstore.ReasonDeregistered)
	if err != nil {
		t.Fatalf("Delete at current revision: %v", err)
	}
	WantEqual(t, "Delete result", got, a2)
	_, err = s.Get(ctx, "a")
	WantErr(t, "Get after Delete", err, regstore.ErrNotFound)

	b := MustPut(t, s, NewReg("b", Base), 0)
	got, err = s.Delete(ctx, "b", 0, regstore.ReasonDeregistered)
	if err != nil {
		t.Fatalf("Delete with expect 0: %v", err)
	}
	WantEqual(t, "Delete result", got, b)

	_, err = s.Delete(ctx, "b", 0, regstore.ReasonDeregistered)
	WantErr(t, "Delete missing, expect 0", err, regstore.ErrNotFound)
	_, err = s.Delete(ctx, "b", b.GetRevision(), regstore.ReasonDeregistered)
	WantErr(t, "Delete missing, expect its old revision", err, regstore.ErrNotFound)
}

// testList: every registration, ordered by id (byte order, as SQL's
// C-collated text and Go strings agree).
func testList(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("empty store lists %d registrations", len(got))
	}
	want := map[string]*registryv1.AgentRegistration{}
	for _, id := range []string{"m", "B", "a", "z/1", "a-2", "b"} {
		want[id] = MustPut(t, s, NewReg(id, Base), 0)
	}
	if _, err := s.Delete(ctx, "m", 0, regstore.ReasonDeregistered); err != nil {
		t.Fatal(err)
	}
	delete(want, "m")
	got, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"B", "a", "a-2", "b", "z/1"}
	if len(got) != len(order) {
		t.Fatalf("List returned %d registrations, want %d", len(got), len(order))
	}
	for i, id := range order {
		WantEqual(t, fmt.Sprintf("List[%d]", i), got[i], want[id])
	}
}
