package regstoretest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// testExpire: Expire returns and removes exactly the registrations whose
// lease ended strictly before now; one ending at now, a later one, and one
// without an expire_time stay.
func testExpire(t *testing.T, s regstore.Store) {
	ctx := context.Background()
	now := Base.Add(time.Hour)
	past := []*registryv1.AgentRegistration{
		MustPut(t, s, NewReg("old", now.Add(-time.Hour)), 0),
		MustPut(t, s, NewReg("just", now.Add(-time.Nanosecond)), 0),
		MustPut(t, s, NewReg("ancient", time.Unix(0, 0)), 0),
	}
	stay := []*registryv1.AgentRegistration{
		MustPut(t, s, NewReg("now", now), 0),
		MustPut(t, s, NewReg("later", now.Add(time.Nanosecond)), 0),
		MustPut(t, s, NewReg("forever", time.Time{}), 0),
	}

	got, err := s.Expire(ctx, now)
	if err != nil {
		t.Fatalf("Expire: %v", err)
	}
	wantSet(t, "Expire", got, past)
	for _, r := range past {
		_, err := s.Get(ctx, r.GetAgentId())
		WantErr(t, "Get expired "+r.GetAgentId(), err, regstore.ErrNotFound)
	}
	left, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantSet(t, "List after Expire", left, stay)

	got, err = s.Expire(ctx, now)
	if err != nil {
		t.Fatalf("second Expire: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("second Expire returned %d registrations, want none", len(got))
	}
}

// testExpireConcurrent: several Expire calls at once (several replicas
// sweeping) return each expired registration exactly once between them.
func testExpireConcurrent(t *testing.T, s regstore.Store) {
	ExpireOnce(t, []regstore.Store{s, s, s, s, s, s}, s)
}

// ExpireOnce puts registrations through put, then calls Expire
// concurrently on every store in sweepers (distinct handles on one
// database, or one store many times) and checks that each expired
// registration was returned exactly once in total and the live ones stay.
func ExpireOnce(t *testing.T, sweepers []regstore.Store, put regstore.Store) {
	t.Helper()
	ctx := context.Background()
	now := Base.Add(time.Hour)
	const n = 60
	var expired []*registryv1.AgentRegistration
	for i := range n {
		expired = append(expired, MustPut(t, put, NewReg(fmt.Sprintf("dead-%03d", i), now.Add(-time.Duration(i+1)*time.Second)), 0))
	}
	live := MustPut(t, put, NewReg("live", now.Add(time.Minute)), 0)

	var (
		mu    sync.Mutex
		all   []*registryv1.AgentRegistration
		errs  []error
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for _, sw := range sweepers {
		wg.Go(func() {
			<-start
			// Each sweeper runs a few passes, as a replica's loop would.
			for range 3 {
				got, err := sw.Expire(ctx, now)
				mu.Lock()
				all = append(all, got...)
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Errorf("concurrent Expire: %v", err)
	}
	wantSet(t, "registrations returned by concurrent Expire calls", all, expired)
	left, err := put.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantSet(t, "List after concurrent Expire", left, []*registryv1.AgentRegistration{live})
}

// wantSet checks that got holds exactly the registrations of want, each
// once, in any order.
func wantSet(t testing.TB, what string, got, want []*registryv1.AgentRegistration) {
	t.Helper()
	byID := map[string]*registryv1.AgentRegistration{}
	for _, r := range want {
		byID[r.GetAgentId()] = r
	}
	seen := map[string]bool{}
	for _, r := range got {
		id := r.GetAgentId()
		w, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("%s: unexpected %q", what, id)
		case seen[id]:
			t.Errorf("%s: %q returned more than once", what, id)
		default:
			WantEqual(t, what+": "+id, r, w)
		}
		seen[id] = true
	}
	for id := range byID {
		if !seen[id] {
			t.Errorf("%s: %q missing", what, id)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}
