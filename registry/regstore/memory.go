package regstore

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore/internal/fanout"
)

// MemoryOption configures [NewMemory].
type MemoryOption func(*Memory)

// WithWatchBuffer sets how many changes a watcher may fall behind by before
// its pending changes are dropped for a single resync (default
// [fanout.DefaultBuffer], 256). n < 1 keeps the default.
func WithWatchBuffer(n int) MemoryOption {
	return func(m *Memory) {
		if n >= 1 {
			m.watchBuffer = n
		}
	}
}

// Memory is a [Store] held in process: for tests, and for a single registry
// that may forget its registrations on restart (agents re-register on their
// next heartbeat, which fails with not-found).
type Memory struct {
	watchBuffer int
	hub         *fanout.Hub[Change]

	// mu orders every write and its publication to watchers, so watchers
	// see changes in revision order.
	mu       sync.Mutex
	regs     map[string]*registryv1.AgentRegistration
	revision int64 // the last revision assigned
	closed   bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{regs: map[string]*registryv1.AgentRegistration{}}
	for _, o := range opts {
		o(m)
	}
	m.hub = fanout.New(m.watchBuffer, Change{Resync: true}, Change.Clone)
	return m
}

// begin checks ctx and takes the lock; it fails if the store is closed.
func (m *Memory) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// Put implements [Store.Put].
func (m *Memory) Put(ctx context.Context, reg *registryv1.AgentRegistration, expect int64) (*registryv1.AgentRegistration, error) {
	if reg.GetAgentId() == "" {
		return nil, ErrNoID
	}
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	// Stored revisions start at 1, so a missing registration is at
	// revision 0 and expect 0 matches exactly that.
	if cur := m.regs[reg.GetAgentId()]; cur.GetRevision() != expect {
		return nil, ErrConflict
	}
	m.revision++
	stored := cloneReg(reg)
	stored.Revision = m.revision
	m.regs[stored.GetAgentId()] = stored
	m.hub.Publish(Change{ID: stored.GetAgentId(), Reg: stored})
	return cloneReg(stored), nil
}

// Get implements [Store.Get].
func (m *Memory) Get(ctx context.Context, id string) (*registryv1.AgentRegistration, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	cur, ok := m.regs[id]
	if !ok {
		return nil, ErrNotFound
	}
	return cloneReg(cur), nil
}

// Delete implements [Store.Delete].
func (m *Memory) Delete(ctx context.Context, id string, expect int64, reason string) (*registryv1.AgentRegistration, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	cur, ok := m.regs[id]
	switch {
	case !ok:
		return nil, ErrNotFound
	case expect != 0 && cur.GetRevision() != expect:
		return nil, ErrConflict
	}
	delete(m.regs, id)
	m.hub.Publish(Change{ID: id, Removed: cur, Reason: reason})
	return cloneReg(cur), nil
}

// List implements [Store.List].
func (m *Memory) List(ctx context.Context) ([]*registryv1.AgentRegistration, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make([]*registryv1.AgentRegistration, 0, len(m.regs))
	for _, id := range slices.Sorted(maps.Keys(m.regs)) {
		out = append(out, cloneReg(m.regs[id]))
	}
	return out, nil
}

// Expire implements [Store.Expire]. A registration without an expire_time
// never expires. The expired registrations are returned ordered by id.
func (m *Memory) Expire(ctx context.Context, now time.Time) ([]*registryv1.AgentRegistration, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var out []*registryv1.AgentRegistration
	for id, r := range m.regs {
		if Expired(r, now) {
			delete(m.regs, id)
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *registryv1.AgentRegistration) int {
		return cmp.Compare(a.GetAgentId(), b.GetAgentId())
	})
	for i, r := range out {
		m.hub.Publish(Change{ID: r.GetAgentId(), Removed: r, Reason: ReasonExpired})
		out[i] = cloneReg(r)
	}
	return out, nil
}

// Watch implements [Store.Watch]. A watcher more than the watch buffer
// behind loses its pending changes and receives one Change{Resync: true}.
func (m *Memory) Watch(ctx context.Context) (<-chan Change, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	ch, ok := m.hub.Subscribe(ctx)
	if !ok {
		return nil, ErrClosed
	}
	return ch, nil
}

// Ping implements [Store.Ping]: an open in-memory store is always reachable.
func (m *Memory) Ping(ctx context.Context) error {
	if err := m.begin(ctx); err != nil {
		return err
	}
	m.mu.Unlock()
	return nil
}

// Close implements [Store.Close]. Later calls fail with [ErrClosed]; closing
// twice is harmless.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.hub.Close()
	return nil
}
