package router

import (
	"container/list"
	"sync"
	"time"
)

// owner is where a task lives: the endpoint that created it (or answered
// for it), and the route it was reached through, which follow-up messages
// routed by [Router.SendMessage] reuse.
type owner struct {
	endpoint string
	route    *Route
}

// affinity maps task ids to their owners, bounded in size (least recently
// used first out) and in age (an entry unused for ttl is forgotten), so a
// router that sees millions of tasks keeps only the live ones. Forgetting
// is safe: an unknown task is looked for again (see Route.locate).
type affinity struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu  sync.Mutex
	lru *list.List // of *affEntry, most recently used first
	m   map[string]*list.Element
}

type affEntry struct {
	task string
	own  owner
	used time.Time
}

func newAffinity(max int, ttl time.Duration, now func() time.Time) *affinity {
	return &affinity{max: max, ttl: ttl, now: now, lru: list.New(), m: make(map[string]*list.Element)}
}

// get returns the owner of task, refreshing the entry.
func (a *affinity) get(task string) (owner, bool) {
	if task == "" {
		return owner{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	el, ok := a.m[task]
	if !ok {
		return owner{}, false
	}
	e := el.Value.(*affEntry)
	now := a.now()
	if now.Sub(e.used) > a.ttl {
		a.lru.Remove(el)
		delete(a.m, task)
		return owner{}, false
	}
	e.used = now
	a.lru.MoveToFront(el)
	return e.own, true
}

// put records that task lives at endpoint, reached through route. An entry
// that already names that endpoint keeps its route: the one that created
// the task is the one its follow-ups should use.
func (a *affinity) put(task, endpoint string, route *Route) {
	if task == "" || endpoint == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if el, ok := a.m[task]; ok {
		e := el.Value.(*affEntry)
		if e.own.endpoint != endpoint || e.own.route == nil {
			e.own = owner{endpoint: endpoint, route: route}
		}
		e.used = now
		a.lru.MoveToFront(el)
		return
	}
	a.m[task] = a.lru.PushFront(&affEntry{task: task, own: owner{endpoint: endpoint, route: route}, used: now})
	for a.lru.Len() > a.max {
		oldest := a.lru.Back()
		a.lru.Remove(oldest)
		delete(a.m, oldest.Value.(*affEntry).task)
	}
	// Expired entries at the back go too, so that memory follows the live
	// tasks even below the size bound.
	for oldest := a.lru.Back(); oldest != nil && now.Sub(oldest.Value.(*affEntry).used) > a.ttl; oldest = a.lru.Back() {
		a.lru.Remove(oldest)
		delete(a.m, oldest.Value.(*affEntry).task)
	}
}

// forget drops task's entry if it still names endpoint (a later answer
// from elsewhere wins).
func (a *affinity) forget(task, endpoint string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.m[task]; ok && el.Value.(*affEntry).own.endpoint == endpoint {
		a.lru.Remove(el)
		delete(a.m, task)
	}
}

// len is the number of entries, for tests.
func (a *affinity) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lru.Len()
}
