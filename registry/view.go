package registry

import (
	"slices"
	"strings"
	"sync"
	"time"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/agentfilter"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// view is one replica's copy of the store: loaded with List, then kept
// current by the store's Watch and, so that a caller reads its own writes
// at once, by this replica's own writes as they succeed. Both paths may
// deliver the same change, in either order; revisions, which the store
// makes increase with every write, decide which is newer, and a removed
// registration leaves a tombstone so that its last write arriving late
// does not bring it back.
//
// Registrations in the view are never modified, only replaced: they are
// shared with searches and watch events.
type view struct {
	mu       sync.RWMutex
	regs     map[string]*registryv1.AgentRegistration
	tombs    map[string]tomb
	watchers map[*watcher]struct{}
	counts   map[registryv1.AgentStatus]int
	closed   error // set by close: watches end with it and none open
	now      func() time.Time
	// changed holds the ids written to the view since beginReload: a List
	// taken meanwhile may predate those writes, so reload must not undo
	// them. Nil outside a reload.
	changed map[string]bool
}

// tomb remembers the revision a registration had when it was removed.
type tomb struct {
	rev int64
	at  time.Time
}

// tombTTL is how long tombstones are kept: far longer than a change takes
// to come back through the store's Watch, far shorter than memory matters.
const tombTTL = 5 * time.Minute

func newView(now func() time.Time) *view {
	return &view{
		regs:     map[string]*registryv1.AgentRegistration{},
		tombs:    map[string]tomb{},
		watchers: map[*watcher]struct{}{},
		counts:   map[registryv1.AgentStatus]int{},
		now:      now,
	}
}

// put applies a written registration unless the view already holds this
// revision or a newer one, or saw it removed.
func (v *view) put(reg *registryv1.AgentRegistration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.putLocked(reg)
}

func (v *view) putLocked(reg *registryv1.AgentRegistration) {
	id := reg.GetAgentId()
	if v.changed != nil {
		v.changed[id] = true
	}
	old := v.regs[id]
	if old != nil && old.GetRevision() >= reg.GetRevision() {
		return
	}
	if t, ok := v.tombs[id]; ok {
		if t.rev >= reg.GetRevision() {
			return
		}
		delete(v.tombs, id)
	}
	v.regs[id] = reg
	v.count(old, -1)
	v.count(reg, +1)
	v.notify(old, reg, "")
}

// remove applies the removal of reg (as it was when removed) unless the
// view holds a newer registration under its id.
func (v *view) remove(reg *registryv1.AgentRegistration, reason string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.removeLocked(reg, reason)
}

func (v *view) removeLocked(reg *registryv1.AgentRegistration, reason string) {
	id := reg.GetAgentId()
	if v.changed != nil {
		v.changed[id] = true
	}
	if t, ok := v.tombs[id]; !ok || t.rev < reg.GetRevision() {
		v.tombs[id] = tomb{rev: reg.GetRevision(), at: v.now()}
	}
	old := v.regs[id]
	if old == nil || old.GetRevision() > reg.GetRevision() {
		return
	}
	delete(v.regs, id)
	v.count(old, -1)
	v.notify(old, nil, reason)
}

// apply applies one change from the store's Watch.
func (v *view) apply(c regstore.Change) {
	switch {
	case c.Reg != nil:
		v.put(c.Reg)
	case c.Removed != nil:
		v.remove(c.Removed, c.Reason)
	}
}

// beginReload is called before the List that reload will apply: from
// then on the view notes which registrations it is told about.
func (v *view) beginReload() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.changed = map[string]bool{}
}

// reload replaces the view with a full List of the store (at start, and
// after the store said changes may have been missed), telling watchers the
// difference. A registration the view holds at a newer revision, or saw
// removed, is kept as the view has it: the change that made it so is
// still on its way through Watch. So is one written to the view since
// beginReload (a registration made on this replica while the List ran
// may be missing from it). One gone from the store was removed while the
// view was not looking; watchers are told it expired, by far the likeliest
// cause while a replica is cut off from its store.
func (v *view) reload(list []*registryv1.AgentRegistration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	changed := v.changed
	v.changed = nil
	seen := make(map[string]bool, len(list))
	for _, r := range list {
		seen[r.GetAgentId()] = true
		v.putLocked(r)
	}
	for id, old := range v.regs {
		if !seen[id] && !changed[id] {
			v.removeLocked(old, regstore.ReasonExpired)
		}
	}
}

// count keeps the number of registrations by status, for the gauge.
func (v *view) count(reg *registryv1.AgentRegistration, delta int) {
	if reg != nil {
		v.counts[reg.GetStatus()] += delta
	}
}

// statusCount is the number of registrations with status s.
func (v *view) statusCount(s registryv1.AgentStatus) int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.counts[s]
}

// all returns every registration, in no order.
func (v *view) all() []*registryv1.AgentRegistration {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]*registryv1.AgentRegistration, 0, len(v.regs))
	for _, r := range v.regs {
		out = append(out, r)
	}
	return out
}

// search returns, ordered by id, at most limit registrations matching f
// whose id sorts after after. Registrations whose lease ended are left out
// even before the sweeper removes them: a search answers who is there now.
// (Watches do see them until their REMOVED event, which then follows.)
func (v *view) search(f *registryv1.AgentFilter, after string, limit int) []*registryv1.AgentRegistration {
	now := v.now()
	v.mu.RLock()
	out := v.matchingLocked(f, after)
	v.mu.RUnlock()
	out = slices.DeleteFunc(out, func(r *registryv1.AgentRegistration) bool { return regstore.Expired(r, now) })
	slices.SortFunc(out, byID)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (v *view) matchingLocked(f *registryv1.AgentFilter, after string) []*registryv1.AgentRegistration {
	var out []*registryv1.AgentRegistration
	for id, r := range v.regs {
		if id > after && agentfilter.Matches(f, r) {
			out = append(out, r)
		}
	}
	return out
}

func byID(a, b *registryv1.AgentRegistration) int {
	return strings.Compare(a.GetAgentId(), b.GetAgentId())
}

// prune drops tombstones older than tombTTL.
func (v *view) prune() {
	cutoff := v.now().Add(-tombTTL)
	v.mu.Lock()
	defer v.mu.Unlock()
	for id, t := range v.tombs {
		if t.at.Before(cutoff) {
			delete(v.tombs, id)
		}
	}
}
