package taskstore

import (
	"cmp"
	"container/list"
	"context"
	"math"
	"sync"
	"time"

	"github.com/google/btree"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Defaults of the in-memory store.
const (
	DefaultMaxTasks             = 100_000
	DefaultTerminalRetention    = time.Hour
	DefaultInterruptedRetention = 24 * time.Hour
	DefaultMaxEventsPerTask     = 1024
)

// MemoryOption configures [NewMemory].
type MemoryOption func(*memoryConfig)

type memoryConfig struct {
	maxTasks         int
	retention        time.Duration
	idleRetention    time.Duration
	maxEventsPerTask int
	maxDeliveries    int
	now              func() time.Time
}

// WithMaxTasks bounds how many tasks the store keeps (default
// [DefaultMaxTasks]). At the bound, the oldest terminal task is evicted to
// make room, or else the task that has waited longest for its caller
// (INPUT_REQUIRED, AUTH_REQUIRED); when every task is being worked on,
// Create fails with ErrFull rather than dropping live work. n <= 0 keeps the
// default.
func WithMaxTasks(n int) MemoryOption {
	return func(c *memoryConfig) {
		if n > 0 {
			c.maxTasks = n
		}
	}
}

// WithTerminalRetention sets how long a task is kept after it reaches a
// terminal state (default [DefaultTerminalRetention]). d <= 0 keeps the
// default.
func WithTerminalRetention(d time.Duration) MemoryOption {
	return func(c *memoryConfig) {
		if d > 0 {
			c.retention = d
		}
	}
}

// WithInterruptedRetention sets how long a task may wait for its caller
// (INPUT_REQUIRED, AUTH_REQUIRED) before it is dropped as abandoned (default
// [DefaultInterruptedRetention]). d <= 0 keeps the default.
func WithInterruptedRetention(d time.Duration) MemoryOption {
	return func(c *memoryConfig) {
		if d > 0 {
			c.idleRetention = d
		}
	}
}

// WithMaxEventsPerTask bounds the event log kept per task for stream
// resumption (default [DefaultMaxEventsPerTask]); older events are dropped
// first. n <= 0 keeps the default.
func WithMaxEventsPerTask(n int) MemoryOption {
	return func(c *memoryConfig) {
		if n > 0 {
			c.maxEventsPerTask = n
		}
	}
}

// WithClock replaces time.Now, for tests of retention.
func WithClock(now func() time.Time) MemoryOption {
	return func(c *memoryConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// Memory is the in-memory [Store]. Tasks are kept as immutable values, so
// reads and updates never copy a whole task; memory is proportional to the
// tasks kept, which the options bound. Event logs are discarded when a task
// becomes terminal, since nothing can follow a terminal task any more.
type Memory struct {
	cfg memoryConfig

	mu          sync.RWMutex
	tasks       map[string]*memEntry
	index       *btree.BTreeG[indexKey] // ListTasks order
	terminal    *list.List              // *memEntry in order of reaching a terminal state
	interrupted *list.List              // *memEntry in order of starting to wait for the caller
	counts      map[scope]int           // tasks per tenant and owner, for unfiltered totals
	outbox      memOutbox
}

type scope struct{ tenant, owner string }

type memEntry struct {
	rec        Record
	events     []Event // oldest first, at most maxEventsPerTask
	dropped    int64   // highest Seq discarded from events
	terminalAt time.Time
	terminalEl *list.Element
	waitingAt  time.Time // when it became interrupted
	waitingEl  *list.Element
	push       []*a2av1.TaskPushNotificationConfig // creation order
}

// indexKey orders tasks by tenant, owner, then newest Updated first.
type indexKey struct {
	tenant, owner string
	updated       int64
	id            string
}

func indexLess(a, b indexKey) bool {
	if c := cmp.Compare(a.tenant, b.tenant); c != 0 {
		return c < 0
	}
	if c := cmp.Compare(a.owner, b.owner); c != 0 {
		return c < 0
	}
	if a.updated != b.updated {
		return a.updated > b.updated
	}
	return a.id > b.id
}

func keyOf(r *Record) indexKey {
	return indexKey{tenant: r.Tenant, owner: r.Owner, updated: r.Updated.UnixNano(), id: r.Task.GetId()}
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	cfg := memoryConfig{
		maxTasks:         DefaultMaxTasks,
		retention:        DefaultTerminalRetention,
		idleRetention:    DefaultInterruptedRetention,
		maxEventsPerTask: DefaultMaxEventsPerTask,
		maxDeliveries:    DefaultMaxDeliveries,
		now:              time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return &Memory{
		cfg:         cfg,
		tasks:       make(map[string]*memEntry),
		index:       btree.NewG(32, indexLess),
		terminal:    list.New(),
		interrupted: list.New(),
		counts:      make(map[scope]int),
		outbox:      newMemOutbox(),
	}
}

// Len reports how many tasks the store holds, expired ones included until
// the next write sweeps them.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.tasks)
}

// IsTerminal reports whether no further change can happen to a task in s:
// COMPLETED, FAILED, CANCELED or REJECTED. It is the one statement of that
// rule; stores expire terminal tasks by it.
func IsTerminal(s a2av1.TaskState) bool {
	switch s {
	case a2av1.TaskState_TASK_STATE_COMPLETED, a2av1.TaskState_TASK_STATE_FAILED,
		a2av1.TaskState_TASK_STATE_CANCELED, a2av1.TaskState_TASK_STATE_REJECTED:
		return true
	}
	return false
}

// IsInterrupted reports whether a task in s waits for its caller
// (INPUT_REQUIRED, AUTH_REQUIRED).
func IsInterrupted(s a2av1.TaskState) bool {
	return s == a2av1.TaskState_TASK_STATE_INPUT_REQUIRED || s == a2av1.TaskState_TASK_STATE_AUTH_REQUIRED
}

func (m *Memory) expired(e *memEntry, now time.Time) bool {
	return (e.terminalEl != nil && now.Sub(e.terminalAt) >= m.cfg.retention) ||
		(e.waitingEl != nil && now.Sub(e.waitingAt) >= m.cfg.idleRetention)
}

// needsSweep reports whether the oldest terminal or waiting task has
// expired. Callers hold m.mu for reading at least.
func (m *Memory) needsSweep(now time.Time) bool {
	for _, l := range []*list.List{m.terminal, m.interrupted} {
		if el := l.Front(); el != nil && m.expired(el.Value.(*memEntry), now) {
			return true
		}
	}
	return false
}

// sweep drops terminal tasks past their retention and interrupted tasks
// abandoned for longer than theirs. Callers hold m.mu.
func (m *Memory) sweep(now time.Time) {
	for _, l := range []*list.List{m.terminal, m.interrupted} {
		for el := l.Front(); el != nil && m.expired(el.Value.(*memEntry), now); el = l.Front() {
			m.remove(el.Value.(*memEntry))
		}
	}
}

func (m *Memory) remove(e *memEntry) {
	if e.terminalEl != nil {
		m.terminal.Remove(e.terminalEl)
		e.terminalEl = nil
	}
	if e.waitingEl != nil {
		m.interrupted.Remove(e.waitingEl)
		e.waitingEl = nil
	}
	m.index.Delete(keyOf(&e.rec))
	delete(m.tasks, e.rec.Task.GetId())
	sc := scope{e.rec.Tenant, e.rec.Owner}
	if m.counts[sc]--; m.counts[sc] <= 0 {
		delete(m.counts, sc)
	}
}

// track keeps the retention lists in step with a task's state.
func (m *Memory) track(e *memEntry, now time.Time) {
	state := e.rec.Task.GetStatus().GetState()
	switch {
	case IsInterrupted(state) && e.waitingEl == nil:
		e.waitingAt, e.waitingEl = now, m.interrupted.PushBack(e)
	case !IsInterrupted(state) && e.waitingEl != nil:
		m.interrupted.Remove(e.waitingEl)
		e.waitingEl = nil
	}
	if IsTerminal(state) {
		m.markTerminal(e, now)
	}
}

// Create implements [Store].
func (m *Memory) Create(_ context.Context, rec Record, push ...*a2av1.TaskPushNotificationConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.now()
	m.sweep(now)
	id := rec.Task.GetId()
	if _, ok := m.tasks[id]; ok {
		return ErrExists
	}
	if len(m.tasks) >= m.cfg.maxTasks {
		oldest := m.terminal.Front()
		if oldest == nil {
			oldest = m.interrupted.Front()
		}
		if oldest == nil {
			return ErrFull
		}
		m.remove(oldest.Value.(*memEntry))
	}
	rec.Version = 1
	e := &memEntry{rec: rec}
	for _, cfg := range push {
		e.putPush(cfg)
	}
	m.tasks[id] = e
	m.index.ReplaceOrInsert(keyOf(&e.rec))
	m.counts[scope{rec.Tenant, rec.Owner}]++
	m.track(e, now)
	return nil
}

func (m *Memory) markTerminal(e *memEntry, now time.Time) {
	if e.terminalEl != nil {
		return
	}
	e.terminalAt = now
	e.terminalEl = m.terminal.PushBack(e)
	e.events = nil
	e.dropped = e.rec.Version
}

// Get implements [Store].
func (m *Memory) Get(_ context.Context, id string) (Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.tasks[id]
	if !ok || m.expired(e, m.cfg.now()) {
		return Record{}, ErrNotFound
	}
	return e.rec, nil
}

// Update implements [Store].
func (m *Memory) Update(_ context.Context, id string, version int64, u Update) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.now()
	e, ok := m.tasks[id]
	if !ok || m.expired(e, now) {
		return 0, ErrNotFound
	}
	if e.rec.Version != version {
		return 0, ErrConflict
	}
	old := keyOf(&e.rec)
	e.rec.Task = u.Task
	e.rec.Runner = u.Runner
	e.rec.Version++
	if ts := u.Task.GetStatus().GetTimestamp(); ts != nil {
		e.rec.Updated = ts.AsTime()
	}
	if nk := keyOf(&e.rec); nk != old {
		m.index.Delete(old)
		m.index.ReplaceOrInsert(nk)
	}
	if u.Event != nil && e.terminalEl == nil {
		if len(e.events) >= m.cfg.maxEventsPerTask {
			// Shift rather than reslice so the dropped events can be freed.
			e.dropped = e.events[0].Seq
			n := copy(e.events, e.events[1:])
			e.events[n] = Event{}
			e.events = e.events[:n]
		}
		if e.events == nil {
			e.events = make([]Event, 0, 8) // most tasks log a handful of events
		}
		e.events = append(e.events, Event{Seq: e.rec.Version, Response: u.Event})
	}
	if u.Event != nil && u.Push {
		m.enqueueLocked(e, e.rec.Version, u.Event, now)
	}
	m.track(e, now)
	return e.rec.Version, nil
}

// Events implements [Store].
func (m *Memory) Events(_ context.Context, id string, afterSeq int64) ([]Event, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.tasks[id]
	if !ok || m.expired(e, m.cfg.now()) {
		return nil, ErrNotFound
	}
	if afterSeq >= e.rec.Version {
		return nil, nil
	}
	if afterSeq < e.dropped {
		return nil, ErrEventsTruncated
	}
	var out []Event
	for _, ev := range e.events {
		if ev.Seq > afterSeq {
			out = append(out, ev)
		}
	}
	return out, nil
}

// CountByState implements [Counter] with a walk over the tasks.
func (m *Memory) CountByState(context.Context) (map[a2av1.TaskState]int64, error) {
	now := m.cfg.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	counts := make(map[a2av1.TaskState]int64)
	for _, e := range m.tasks {
		if !m.expired(e, now) {
			counts[e.rec.Task.GetStatus().GetState()]++
		}
	}
	return counts, nil
}

// List implements [Store]. Without filters it costs O(page): the total
// comes from per-scope counts and the walk starts at the cursor. Filters
// (context, state, time) need a walk over the caller's tasks to count them.
func (m *Memory) List(_ context.Context, q Query) (Page, error) {
	var cursor *indexKey
	if q.PageToken != "" {
		ts, id, err := DecodeTaskCursor(q.PageToken)
		if err != nil {
			return Page{}, err
		}
		cursor = &indexKey{tenant: q.Tenant, owner: q.Owner, updated: ts.UnixNano(), id: id}
	}
	pageSize := q.PageSize
	if pageSize <= 0 {
		pageSize = 50
	}
	var minUpdated int64 = math.MinInt64
	if !q.UpdatedAfter.IsZero() {
		minUpdated = q.UpdatedAfter.UnixNano()
	}
	filtered := q.ContextID != "" || q.State != a2av1.TaskState_TASK_STATE_UNSPECIFIED || !q.UpdatedAfter.IsZero()
	now := m.cfg.now()
	m.mu.RLock()
	if m.needsSweep(now) {
		m.mu.RUnlock()
		m.mu.Lock()
		m.sweep(now)
		m.mu.Unlock()
		m.mu.RLock()
	}
	defer m.mu.RUnlock()

	var page Page
	more := false
	start := indexKey{tenant: q.Tenant, owner: q.Owner, updated: math.MaxInt64}
	if cursor != nil && !filtered {
		start = *cursor
	}
	if !filtered {
		page.TotalSize = m.counts[scope{q.Tenant, q.Owner}]
	}
	m.index.AscendGreaterOrEqual(start, func(k indexKey) bool {
		if k.tenant != q.Tenant || k.owner != q.Owner || k.updated < minUpdated {
			return false
		}
		e := m.tasks[k.id]
		if m.expired(e, now) ||
			(q.ContextID != "" && e.rec.Task.GetContextId() != q.ContextID) ||
			(q.State != a2av1.TaskState_TASK_STATE_UNSPECIFIED && e.rec.Task.GetStatus().GetState() != q.State) {
			return true
		}
		if filtered {
			page.TotalSize++
		}
		if cursor != nil && !indexLess(*cursor, k) {
			return true // at or before the cursor
		}
		if len(page.Records) < pageSize {
			page.Records = append(page.Records, e.rec)
			return true
		}
		more = true
		return filtered // unfiltered: the total is known, stop here
	})
	if more {
		last := page.Records[len(page.Records)-1]
		page.NextPageToken = EncodeTaskCursor(last.Updated, last.Task.GetId())
	}
	return page, nil
}

// PutPushConfig implements [Store].
func (m *Memory) PutPushConfig(_ context.Context, cfg *a2av1.TaskPushNotificationConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.tasks[cfg.GetTaskId()]
	if !ok || m.expired(e, m.cfg.now()) {
		return ErrNotFound
	}
	e.putPush(cfg)
	return nil
}

// putPush stores or replaces (in its place) one of the task's configs.
func (e *memEntry) putPush(cfg *a2av1.TaskPushNotificationConfig) {
	for i, c := range e.push {
		if c.GetId() == cfg.GetId() {
			e.push[i] = cfg
			return
		}
	}
	e.push = append(e.push, cfg)
}

// GetPushConfig implements [Store].
func (m *Memory) GetPushConfig(_ context.Context, taskID, id string) (*a2av1.TaskPushNotificationConfig, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.tasks[taskID]
	if !ok || m.expired(e, m.cfg.now()) {
		return nil, ErrNotFound
	}
	for _, c := range e.push {
		if c.GetId() == id {
			return c, nil
		}
	}
	return nil, ErrNotFound
}

// ListPushConfigs implements [Store].
func (m *Memory) ListPushConfigs(_ context.Context, taskID string, pageSize int, pageToken string) ([]*a2av1.TaskPushNotificationConfig, string, error) {
	offset, err := DecodeOffsetCursor(pageToken)
	if err != nil {
		return nil, "", err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.tasks[taskID]
	if !ok || m.expired(e, m.cfg.now()) {
		return nil, "", ErrNotFound
	}
	if offset > len(e.push) {
		return nil, "", ErrInvalidPageToken
	}
	end := len(e.push)
	if pageSize > 0 && offset+pageSize < end {
		end = offset + pageSize
	}
	out := append([]*a2av1.TaskPushNotificationConfig(nil), e.push[offset:end]...)
	next := ""
	if end < len(e.push) {
		next = EncodeOffsetCursor(end)
	}
	return out, next, nil
}

// DeletePushConfig implements [Store].
func (m *Memory) DeletePushConfig(_ context.Context, taskID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.tasks[taskID]
	if !ok {
		return nil
	}
	for i, c := range e.push {
		if c.GetId() == id {
			e.push = append(e.push[:i], e.push[i+1:]...)
			m.dropDeliveriesLocked(taskID, id)
			return nil
		}
	}
	return nil
}

var (
	_ Store   = (*Memory)(nil)
	_ Counter = (*Memory)(nil)
)
