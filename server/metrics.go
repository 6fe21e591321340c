package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/promset"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/webhook"
)

// WithMetrics registers the handler's A2A metrics with reg (default: none
// are kept). All but a2a_tasks describe what this process does; sum them
// over replicas for a cluster's view:
//
//   - a2a_tasks{state}: tasks in the task store by current state, counted
//     by the store when scraped (at most once a second) if it
//     implements [taskstore.Counter], as every built-in store does. Replicas
//     sharing a database report the same store-wide numbers: take their max;
//   - a2a_task_state_changes_total{state}: task states recorded, by the
//     state entered (a new task counts once, in the state it is stored with);
//   - a2a_executions_running: agents executing in this process now;
//   - a2a_streams_active{kind}: open client streams, kind "send" (streaming
//     sends) or "subscribe";
//   - a2a_subscribers: event subscriptions in this process, one per open
//     stream until it ends or is cut off for reading too slowly;
//   - a2a_event_fanout_seconds: from an event's publication to its being
//     taken by a stream's reader, the delay a slow consumer sees first;
//   - a2a_push_deliveries_total{outcome}: webhook attempts, outcome
//     "delivered", "retry" or "failed" (given up);
//   - a2a_store_operation_seconds{op} and a2a_store_errors_total{op}: task
//     store latency and failures per operation (not-found and conflict
//     answers are not failures).
//
// Registration fails NewHandler when reg already holds these series (two
// handlers on one registry need [prometheus.WrapRegistererWith] labels).
// [Handler.Close] unregisters them, so a handler can be replaced by a new
// one on the same registry.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(c *config) { c.metrics = reg }
}

// metrics holds the handler's series. A nil *metrics records nothing, so
// call sites need no checks.
type metrics struct {
	states    *prometheus.CounterVec
	streams   *prometheus.GaugeVec
	fanout    prometheus.Histogram
	pushes    *prometheus.CounterVec
	storeTime *prometheus.HistogramVec
	storeErrs *prometheus.CounterVec
	set       *promset.Set
}

func newMetrics(reg prometheus.Registerer, h *Handler) (*metrics, error) {
	m := &metrics{
		states: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "a2a_task_state_changes_total",
			Help: "Task states recorded by this process, by the state entered.",
		}, []string{"state"}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "a2a_streams_active",
			Help: "Open client streams (streaming sends and task subscriptions).",
		}, []string{"kind"}),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "a2a_event_fanout_seconds",
			Help:    "Delay from an event's publication to a stream reader taking it.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "a2a_push_deliveries_total",
			Help: "Push notification attempts, by outcome (delivered, retry, failed).",
		}, []string{"outcome"}),
		storeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "a2a_store_operation_seconds",
			Help:    "Task store operation latency.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op"}),
		storeErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "a2a_store_errors_total",
			Help: "Task store operations that failed (not counting not-found and version conflicts).",
		}, []string{"op"}),
	}
	running := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "a2a_executions_running",
		Help: "Agent executions running in this process.",
	}, func() float64 {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for _, e := range h.running {
			if e != nil { // nil: a task claimed briefly, not executing
				n++
			}
		}
		return float64(n)
	})
	subscribers := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "a2a_subscribers",
		Help: "Event subscriptions open in this process.",
	}, func() float64 { return float64(h.broker.subscribers()) })
	cs := []prometheus.Collector{m.states, m.streams, m.fanout, m.pushes, m.storeTime, m.storeErrs, running, subscribers}
	if c, ok := h.cfg.store.(taskstore.Counter); ok {
		cs = append(cs, newTaskCounts(c, m))
	}
	var err error
	if m.set, err = promset.Register(reg, cs...); err != nil {
		return nil, err
	}
	// Series that exist from the start read 0 rather than being absent, so
	// rate() and alerts work before the first event.
	for _, k := range []string{streamSend, streamSubscribe} {
		m.streams.WithLabelValues(k)
	}
	for _, o := range []string{"delivered", "retry", "failed"} {
		m.pushes.WithLabelValues(o)
	}
	for v := range a2av1.TaskState_name {
		if s := a2av1.TaskState(v); s != a2av1.TaskState_TASK_STATE_UNSPECIFIED {
			m.states.WithLabelValues(stateLabel(s))
		}
	}
	return m, nil
}

// stateLabel is a state's label value: "completed" for
// TASK_STATE_COMPLETED.
func stateLabel(s a2av1.TaskState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "TASK_STATE_"))
}

// unregister removes the series from the registry (nil m: none).
func (m *metrics) unregister() {
	if m != nil {
		m.set.Unregister()
	}
}

func (m *metrics) stateEntered(s a2av1.TaskState) {
	if m != nil {
		m.states.WithLabelValues(stateLabel(s)).Inc()
	}
}

// Stream kinds of a2a_streams_active.
const (
	streamSend      = "send"
	streamSubscribe = "subscribe"
)

// streamOpened counts an open client stream; the returned func closes it.
func (m *metrics) streamOpened(kind string) func() {
	if m == nil {
		return func() {}
	}
	g := m.streams.WithLabelValues(kind)
	g.Inc()
	return g.Dec
}

// fanoutObserver is what subscribers report their delay to; nil when no
// metrics are kept, which also spares them reading the clock.
func (m *metrics) fanoutObserver() prometheus.Observer {
	if m == nil {
		return nil
	}
	return m.fanout
}

func (m *metrics) pushResult(r webhook.Result) {
	switch {
	case r.Delivered():
		m.pushes.WithLabelValues("delivered").Inc()
	case r.GaveUp:
		m.pushes.WithLabelValues("failed").Inc()
	default:
		m.pushes.WithLabelValues("retry").Inc()
	}
}

// storeOp times one store operation; done records its outcome.
func (m *metrics) storeOp(op string) (done func(error)) {
	if m == nil {
		return func(error) {}
	}
	start := time.Now()
	return func(err error) {
		m.storeTime.WithLabelValues(op).Observe(time.Since(start).Seconds())
		if storeFailed(err) {
			m.storeErrs.WithLabelValues(op).Inc()
		}
	}
}

// storeFailed tells failures from a store's normal answers: not found,
// taken, conflict, a stale page token or a truncated log are part of the
// protocol, and a caller that left or ran out of time is not the store's
// trouble.
func storeFailed(err error) bool {
	if err == nil {
		return false
	}
	for _, normal := range []error{taskstore.ErrNotFound, taskstore.ErrExists, taskstore.ErrConflict,
		taskstore.ErrInvalidPageToken, taskstore.ErrEventsTruncated, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, normal) {
			return false
		}
	}
	return true
}

// measuredStore times every [taskstore.Store] call of the handler. Optional
// interfaces (Outbox, Watcher, Reaper) are asserted on the store itself,
// never on this wrapper.
type measuredStore struct {
	s taskstore.Store
	m *metrics
}

func (s measuredStore) Create(ctx context.Context, rec taskstore.Record, push ...*a2av1.TaskPushNotificationConfig) (err error) {
	defer func(done func(error)) { done(err) }(s.m.storeOp("create"))
	return s.s.Create(ctx, rec, push...)
}

func (s measuredStore) Get(ctx context.Context, id string) (_ taskstore.Record, err error) {
	defer func(done func(error)) { done(err) }(s.m.storeOp("get"))
	return s.s.Get(ctx, id)
}

func (s measuredStore) Update(ctx context.Context, id string, version int64, u taskstore.Update) (_ int64, err error) {
	defer func(done func(error)) { done(err) }(s.m.storeOp("update"))
	return s.s.Update(ctx, id, version, u)
}

func (s measuredStore) Events(ctx context.Context, id string, afterSeq int64) (_ []taskstore.Event, err error) {
	defer func(done func(error)) { done(err) }(s.m.storeOp("events"))
	return s.s.Events(ctx, id, afterSeq)
}

func (s measuredStore) List(ctx context.Context, q taskstore.Query) (_ taskstore.Page, err error) {
	defer func(done func(error)) { done(err) }(s.m.storeOp("list"))
	return s.s.List(ctx, q)
}

func (s measuredStore) PutPushConfig(ctx context.Context, cfg *a2av1.TaskPushNotificationConfig) (err error) {
	defer func(done func(error)) { done(err) }(s.m.storeOp("put_push_config"))
	return s.s.PutPushConfig(ctx, cfg)
}

func (s measuredStore) GetPushConfig(ctx context.Context, taskID, id string) (_ *a2av1.TaskPushNotificationConfig, err error) {
	defer func(done func(error)) { done(err) }(s.m.storeOp("get_push_config"))
	return s.s.GetPushConfig(ctx, taskID, id)
}

func (s measuredStore) ListPushConfigs(ctx context.Context, taskID string, pageSize int, pageToken string) (_ []*a2av1.TaskPushNotificationConfig, _ string, err error) {
	defer func(done func(error)) { done(err) }(s.m.storeOp("list_push_configs"))
	return s.s.ListPushConfigs(ctx, taskID, pageSize, pageToken)
}

func (s measuredStore) DeletePushConfig(ctx context.Context, taskID, id string) (err error) {
	defer func(done func(error)) { done(err) }(s.m.storeOp("delete_push_config"))
	return s.s.DeletePushConfig(ctx, taskID, id)
}
