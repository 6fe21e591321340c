package regstoretest

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// WantPut checks that c reports reg as written.
func WantPut(t testing.TB, c regstore.Change, reg *registryv1.AgentRegistration) {
	t.Helper()
	if c.Resync || c.ID != reg.GetAgentId() || c.Removed != nil || c.Reason != "" {
		t.Fatalf("change %+v, want a write of %q", c, reg.GetAgentId())
	}
	WantEqual(t, "Change.Reg", c.Reg, reg)
}

// WantRemoved checks that c reports reg removed for reason.
func WantRemoved(t testing.TB, c regstore.Change, reg *registryv1.AgentRegistration, reason string) {
	t.Helper()
	if c.Resync || c.ID != reg.GetAgentId() || c.Reg != nil || c.Reason != reason {
		t.Fatalf("change %+v, want %q removed (%s)", c, reg.GetAgentId(), reason)
	}
	WantEqual(t, "Change.Removed", c.Removed, reg)
}

// testWatchPutDelete: creates, updates and deletes reach every watcher, in
// order, with the registration after the write or as it was removed.
func testWatchPutDelete(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	w1, w2 := MustWatch(t, s), MustWatch(t, s)

	a1 := MustPut(t, s, NewReg("a", Base), 0)
	next := proto.Clone(a1).(*registryv1.AgentRegistration)
	next.Status = registryv1.AgentStatus_AGENT_STATUS_UNHEALTHY
	a2 := MustPut(t, s, next, a1.GetRevision())
	b := MustPut(t, s, NewReg("b", Base), 0)
	if _, err := s.Delete(ctx, "a", a2.GetRevision(), regstore.ReasonDeregistered); err != nil {
		t.Fatal(err)
	}
	// Failed writes are not changes.
	if _, err := s.Put(ctx, NewReg("b", Base), 0); err == nil {
		t.Fatal("Put over an existing registration with expect 0 succeeded")
	}
	if _, err := s.Delete(ctx, "b", a1.GetRevision(), regstore.ReasonDeregistered); err == nil {
		t.Fatal("Delete at a wrong revision succeeded")
	}
	if _, err := s.Delete(ctx, "b", 0, regstore.ReasonExpired); err != nil {
		t.Fatal(err)
	}

	for _, w := range []<-chan regstore.Change{w1, w2} {
		WantPut(t, Next(t, w, "create a"), a1)
		WantPut(t, Next(t, w, "update a"), a2)
		WantPut(t, Next(t, w, "create b"), b)
		WantRemoved(t, Next(t, w, "delete a"), a2, regstore.ReasonDeregistered)
		WantRemoved(t, Next(t, w, "delete b"), b, regstore.ReasonExpired)
		Quiet(t, w)
	}
}

// testWatchExpire: each expired registration reaches watchers as removed
// with ReasonExpired.
func testWatchExpire(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	now := Base.Add(time.Hour)
	x := MustPut(t, s, NewReg("x", now.Add(-time.Second)), 0)
	y := MustPut(t, s, NewReg("y", now.Add(-time.Minute)), 0)
	MustPut(t, s, NewReg("z", now.Add(time.Minute)), 0)
	w := MustWatch(t, s)
	if _, err := s.Expire(ctx, now); err != nil {
		t.Fatal(err)
	}
	want := map[string]*registryv1.AgentRegistration{"x": x, "y": y}
	for len(want) > 0 {
		c := Next(t, w, "expired registrations")
		r, ok := want[c.ID]
		if !ok {
			t.Fatalf("unexpected change %+v", c)
		}
		WantRemoved(t, c, r, regstore.ReasonExpired)
		delete(want, c.ID)
	}
	Quiet(t, w)
}

// testWatchCopies: every watcher gets its own copy of a change.
func testWatchCopies(t *testing.T, s regstore.Store) {
	w1, w2 := MustWatch(t, s), MustWatch(t, s)
	a := MustPut(t, s, NewReg("a", Base), 0)
	c1 := Next(t, w1, "create a on watcher 1")
	c1.Reg.Labels["zone"] = "mutated"
	c1.Reg.Card.Name = "mutated"
	WantPut(t, Next(t, w2, "create a on watcher 2"), a)
	WantEqual(t, "Get after mutating a watched change", MustGet(t, s, "a"), a)
}

// testWatchCancel: ending the watch's context closes its channel, and
// leaves other watchers alone.
func testWatchCancel(t *testing.T, s regstore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	w, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := MustWatch(t, s)
	cancel()
	Closed(t, w, "after cancelling the watch's context")
	a := MustPut(t, s, NewReg("a", Base), 0)
	WantPut(t, Next(t, other, "create a on the remaining watcher"), a)

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if w, err := s.Watch(done); err == nil {
		Closed(t, w, "watch opened with an ended context")
	}
}

// testCopies: registrations returned by the store are the caller's; the
// one passed to Put is not kept either.
func testCopies(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	in := NewReg("a", Base)
	put := MustPut(t, s, in, 0)
	want := proto.Clone(put).(*registryv1.AgentRegistration)
	mutate := func(r *registryv1.AgentRegistration) {
		r.Labels["zone"] = "mutated"
		r.Card.Name = "mutated"
		r.Revision = 12345
	}
	check := func(after string) {
		t.Helper()
		WantEqual(t, "Get after mutating the "+after, MustGet(t, s, "a"), want)
	}
	mutate(in)
	check("registration given to Put")
	mutate(put)
	check("result of Put")
	mutate(MustGet(t, s, "a"))
	check("result of Get")
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mutate(list[0])
	check("result of List")

	MustPut(t, s, NewReg("old", Base.Add(-time.Hour)), 0)
	exp, err := s.Expire(ctx, Base)
	if err != nil || len(exp) != 1 {
		t.Fatalf("Expire = %d registrations, %v; want 1", len(exp), err)
	}
	mutate(exp[0])
	check("result of Expire")
}

// testClose: Close closes watch channels, later calls fail with ErrClosed,
// and a second Close is harmless.
func testClose(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	a := MustPut(t, s, NewReg("a", Base), 0)
	w := MustWatch(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	Closed(t, w, "after Close")
	_ = s.Close()

	_, err := s.Put(ctx, NewReg("b", Base), 0)
	WantErr(t, "Put after Close", err, regstore.ErrClosed)
	_, err = s.Get(ctx, "a")
	WantErr(t, "Get after Close", err, regstore.ErrClosed)
	_, err = s.Delete(ctx, "a", a.GetRevision(), regstore.ReasonDeregistered)
	WantErr(t, "Delete after Close", err, regstore.ErrClosed)
	_, err = s.List(ctx)
	WantErr(t, "List after Close", err, regstore.ErrClosed)
	_, err = s.Expire(ctx, Base.Add(time.Hour))
	WantErr(t, "Expire after Close", err, regstore.ErrClosed)
	_, err = s.Watch(ctx)
	WantErr(t, "Watch after Close", err, regstore.ErrClosed)
	WantErr(t, "Ping after Close", s.Ping(ctx), regstore.ErrClosed)
}

// testPing: an open store is reachable.
func testPing(t *testing.T, s regstore.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
