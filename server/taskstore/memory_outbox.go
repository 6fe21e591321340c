package taskstore

import (
	"context"
	"slices"
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
//
// Each webhook has its own FIFO queue; only the head of each queue is in
// byDue and can be claimed, which keeps every webhook's notifications in
// order.
type memOutbox struct {
	byDue  *btree.BTreeG[*memDelivery] // queue heads, by due time
	byID   map[int64]*memDelivery
	queues map[webhookKey][]*memDelivery // oldest first
	nextID int64
}

type webhookKey struct{ task, config string }

func keyOfDelivery(d *memDelivery) webhookKey {
	return webhookKey{d.Config.GetTaskId(), d.Config.GetId()}
}

func newMemOutbox() memOutbox {
	return memOutbox{
		byDue:  btree.NewG(16, deliveryLess),
		byID:   make(map[int64]*memDelivery),
		queues: make(map[webhookKey][]*memDelivery),
	}
}

// enqueueLocked queues ev for each of e's push configs. At the bound the
// most overdue head is dropped: the in-memory store prefers losing an old
// notification to growing without limit. Callers hold m.mu.
func (m *Memory) enqueueLocked(e *memEntry, seq int64, ev *a2av1.StreamResponse, now time.Time) {
	o := &m.outbox
	for _, cfg := range e.push {
		if len(o.byID) >= m.cfg.maxDeliveries {
			if oldest, ok := o.byDue.Min(); ok {
				o.remove(oldest)
			}
		}
		o.nextID++
		d := &memDelivery{Delivery: Delivery{ID: o.nextID, Config: cfg, Seq: seq, Event: ev}, due: now}
		o.byID[d.ID] = d
		k := keyOfDelivery(d)
		o.queues[k] = append(o.queues[k], d)
		if len(o.queues[k]) == 1 {
			o.byDue.ReplaceOrInsert(d)
		}
	}
}

// remove takes a delivery out of the outbox; when it was its queue's head,
// the next one becomes claimable.
func (o *memOutbox) remove(d *memDelivery) {
	delete(o.byID, d.ID)
	k := keyOfDelivery(d)
	q := o.queues[k]
	i := slices.Index(q, d)
	if i < 0 {
		return
	}
	q = slices.Delete(q, i, i+1)
	if i == 0 {
		o.byDue.Delete(d)
		if len(q) > 0 {
			o.byDue.ReplaceOrInsert(q[0])
		}
	}
	if len(q) == 0 {
		delete(o.queues, k)
	} else {
		o.queues[k] = q
	}
}

// dropDeliveriesLocked removes the queued deliveries of one config, so
// nothing is sent after it is deleted. Callers hold m.mu.
func (m *Memory) dropDeliveriesLocked(taskID, configID string) {
	o := &m.outbox
	k := webhookKey{taskID, configID}
	for _, d := range o.queues[k] {
		delete(o.byID, d.ID)
	}
	if q := o.queues[k]; len(q) > 0 {
		o.byDue.Delete(q[0])
	}
	delete(o.queues, k)
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
		m.outbox.remove(d)
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
	d.Attempts++
	if _, head := m.outbox.byDue.Delete(d); head {
		d.due = at
		m.outbox.byDue.ReplaceOrInsert(d)
	} else {
		d.due = at
	}
	return nil
}

var _ Outbox = (*Memory)(nil)
