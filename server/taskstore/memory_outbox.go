package taskstore

import (
	"context"
	"time"

	"github.com/google/btree"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// DefaultMaxDeliveries bounds the in-memory outbox.
const DefaultMaxDeliveries = 100_000

// memDelivery is a queued push notification of the in-memory outbox,
// ordered by when it is next due.
type memDelivery struct {
	Delivery
	due time.Time
}

func deliveryLess(a, b *memDelivery) bool {
	if !a.due.Equal(b.due) {
		return a.due.Before(b.due)
	}
	return a.ID < b.ID
}

// memOutbox is the part of [Memory] that queues push notifications. It
// lives as long as the process: the in-memory store makes no promise across
// restarts, the SQL stores do.
type memOutbox struct {
	byDue  *btree.BTreeG[*memDelivery]
	byID   map[int64]*memDelivery
	nextID int64
}

func newMemOutbox() memOutbox {
	return memOutbox{byDue: btree.NewG(16, deliveryLess), byID: make(map[int64]*memDelivery)}
}

// enqueueLocked queues ev for each of e's push configs. At the bound the
// oldest queued delivery is dropped: the in-memory store prefers losing an
// old notification to growing without limit. Callers hold m.mu.
func (m *Memory) enqueueLocked(e *memEntry, seq int64, ev *a2av1.StreamResponse, now time.Time) {
	for _, cfg := range e.push {
		if len(m.outbox.byID) >= m.cfg.maxDeliveries {
			if oldest, ok := m.outbox.byDue.DeleteMin(); ok {
				delete(m.outbox.byID, oldest.ID)
			}
		}
		m.outbox.nextID++
		d := &memDelivery{Delivery: Delivery{ID: m.outbox.nextID, Config: cfg, Seq: seq, Event: ev}, due: now}
		m.outbox.byID[d.ID] = d
		m.outbox.byDue.ReplaceOrInsert(d)
	}
}

// dropDeliveriesLocked removes the queued deliveries of one config, so
// nothing is sent after it is deleted. Callers hold m.mu.
func (m *Memory) dropDeliveriesLocked(taskID, configID string) {
	for id, d := range m.outbox.byID {
		if d.Config.GetTaskId() == taskID && d.Config.GetId() == configID {
			m.outbox.byDue.Delete(d)
			delete(m.outbox.byID, id)
		}
	}
}

// ClaimDeliveries implements [Outbox].
func (m *Memory) ClaimDeliveries(_ context.Context, limit int, lease time.Duration) ([]Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.now()
	var due []*memDelivery
	m.outbox.byDue.Ascend(func(d *memDelivery) bool {
		if d.due.After(now) || len(due) >= limit {
			return false
		}
		due = append(due, d)
		return true
	})
	out := make([]Delivery, 0, len(due))
	for _, d := range due {
		m.outbox.byDue.Delete(d)
		d.due = now.Add(lease)
		m.outbox.byDue.ReplaceOrInsert(d)
		if e, ok := m.tasks[d.Config.GetTaskId()]; ok {
			d.Config = e.pushConfig(d.Config.GetId(), d.Config)
		}
		out = append(out, d.Delivery)
	}
	return out, nil
}

// pushConfig returns the task's current config id, or fallback.
func (e *memEntry) pushConfig(id string, fallback *a2av1.TaskPushNotificationConfig) *a2av1.TaskPushNotificationConfig {
	for _, c := range e.push {
		if c.GetId() == id {
			return c
		}
	}
	return fallback
}

// CompleteDelivery implements [Outbox].
func (m *Memory) CompleteDelivery(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.outbox.byID[id]; ok {
		m.outbox.byDue.Delete(d)
		delete(m.outbox.byID, id)
	}
	return nil
}

// RetryDelivery implements [Outbox].
func (m *Memory) RetryDelivery(_ context.Context, id int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.outbox.byID[id]
	if !ok {
		return ErrNotFound
	}
	m.outbox.byDue.Delete(d)
	d.due = at
	d.Attempts++
	m.outbox.byDue.ReplaceOrInsert(d)
	return nil
}

var _ Outbox = (*Memory)(nil)
