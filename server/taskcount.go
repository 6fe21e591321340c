package server

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Bounds of the a2a_tasks gauge's store reads: a scrape reuses counts
// younger than taskCountTTL, so a burst of scrapes (several Prometheus
// servers, a dashboard refreshing) costs the store one count; and a count
// that takes longer than taskCountTimeout is abandoned, so a slow store
// cannot hold a scrape.
const (
	taskCountTTL     = time.Second
	taskCountTimeout = 2 * time.Second
)

// taskCounts is the a2a_tasks{state} gauge, read from the store
// ([taskstore.Counter]) when scraped. It is the store's view, not this
// process's: replicas sharing a database all report the same numbers, so
// aggregate them with max, not sum. While the store cannot be read the
// series are absent (and a2a_store_errors_total{op="count_by_state"}
// rises) rather than stale.
type taskCounts struct {
	desc  *prometheus.Desc
	store taskstore.Counter
	m     *metrics

	mu     sync.Mutex
	at     time.Time // when last was read
	last   map[a2av1.TaskState]int64
	states []a2av1.TaskState // every state but UNSPECIFIED, in number order
}

func newTaskCounts(store taskstore.Counter, m *metrics) *taskCounts {
	c := &taskCounts{
		desc: prometheus.NewDesc("a2a_tasks",
			"Tasks in the task store by current state (store-wide: replicas on one database report the same).",
			[]string{"state"}, nil),
		store: store,
		m:     m,
	}
	for v := range int32(len(a2av1.TaskState_name)) {
		if s := a2av1.TaskState(v); s != a2av1.TaskState_TASK_STATE_UNSPECIFIED {
			c.states = append(c.states, s)
		}
	}
	return c
}

func (c *taskCounts) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *taskCounts) Collect(ch chan<- prometheus.Metric) {
	counts := c.read()
	if counts == nil {
		return
	}
	for _, s := range c.states {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), stateLabel(s))
	}
}

// read returns the counts, from the store unless the last read is recent;
// nil when the store failed. Concurrent scrapes wait for one read.
func (c *taskCounts) read() map[a2av1.TaskState]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil && time.Since(c.at) < taskCountTTL {
		return c.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), taskCountTimeout)
	defer cancel()
	done := c.m.storeOp("count_by_state")
	counts, err := c.store.CountByState(ctx)
	done(err)
	if err != nil {
		c.last = nil
		return nil
	}
	c.last, c.at = counts, time.Now()
	return counts
}
