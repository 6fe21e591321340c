package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Handler implements the eleven A2A operations over an [Executor] and a
// [taskstore.Store], independent of any transport. Unary operations return
// the response message or an *a2agrpc.Error; streaming operations return an
// iterator whose only element is an error when the call fails up front.
//
// Bindings pass per-call service parameters (A2A-Version, A2A-Extensions,
// caller identity) with [WithCallInfo]. The handler takes ownership of
// request messages: callers must not modify them afterwards.
type Handler struct {
	exec   Executor
	cfg    config
	store  taskstore.Store
	card   *a2av1.AgentCard
	log    *slog.Logger
	broker *broker
	pool   *workers
	// limiter is nil unless [WithRateLimit] set a rate.
	limiter *limiter
	// metrics is nil unless [WithMetrics] set a registry.
	metrics *metrics
	tracer  trace.Tracer

	// runner names this process in a shared store (Record.Runner), so
	// that its tasks can be found and failed if it dies.
	runner string
	// Background work: lease renewal and orphan recovery, following other
	// processes' writes, push delivery. Stopped by Close.
	bgStop context.CancelFunc
	bg     sync.WaitGroup
	bgMu   sync.Mutex // guards bgDone: no background goroutine starts once Close waits
	bgDone bool
	follow *follower
	// delivery is nil when the card promises no push notifications or
	// the store keeps no outbox.
	delivery *delivery

	pushMu     sync.Mutex // serialises push config creation (per-task limit)
	mu         sync.Mutex
	running    map[string]*execution // task id → its execution in this process
	closed     bool
	executions sync.WaitGroup
}

// NewHandler returns a Handler running exec. It fails on an invalid
// configuration rather than panicking.
func NewHandler(exec Executor, opts ...Option) (*Handler, error) {
	if exec == nil {
		return nil, errors.New("server: nil Executor")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.store == nil {
		cfg.store = taskstore.NewMemory()
	}
	card := cfg.card
	if card == nil {
		card = defaultCard()
	}
	h := &Handler{
		exec:    exec,
		cfg:     cfg,
		store:   cfg.store,
		card:    card,
		log:     cfg.log,
		broker:  newBroker(cfg.streamBuffer),
		pool:    newWorkers(10 * time.Second),
		running: make(map[string]*execution),
		runner:  uuid.NewString(),
	}
	if cfg.ratePerSecond > 0 {
		h.limiter = newLimiter(cfg.ratePerSecond, cfg.rateBurst)
	}
	h.tracer = newTracer(cfg.tracer)
	if cfg.metrics != nil {
		m, err := newMetrics(cfg.metrics, h)
		if err != nil {
			return nil, fmt.Errorf("server: registering metrics: %w", err)
		}
		h.metrics = m
		h.store = measuredStore{s: cfg.store, m: m}
	}
	h.startBackground()
	return h, nil
}

// goBackground runs f as background work, unless Close has begun.
func (h *Handler) goBackground(f func()) {
	h.bgMu.Lock()
	defer h.bgMu.Unlock()
	if !h.bgDone {
		h.bg.Go(f)
	}
}

// startBackground starts what the store calls for: orphan recovery for
// durable stores, following for shared ones.
func (h *Handler) startBackground() {
	ctx, stop := context.WithCancel(context.Background())
	h.bgStop = stop
	h.newDelivery(ctx)
	if r, ok := h.cfg.store.(taskstore.Reaper); ok {
		// The first lease is taken before the handler serves anything, so
		// that no other process ever sees a task of ours without a live
		// runner behind it.
		kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := r.KeepAlive(kctx, h.runner, h.cfg.runnerLease); err != nil {
			h.log.Warn("a2agrpc: taking the runner lease", "err", err)
		}
		cancel()
		h.bg.Go(func() { h.reap(ctx, r) })
	}
	if w, ok := h.cfg.store.(taskstore.Watcher); ok {
		h.follow = newFollower(h)
		h.bg.Go(func() { h.follow.run(ctx) })
		h.bg.Go(func() { h.watch(ctx, w) })
	}
}

// watch keeps a Watch running, restarting it after a failure to start
// (the database was unreachable). Each start re-reads every followed task
// (Watch begins with the empty Notification).
func (h *Handler) watch(ctx context.Context, w taskstore.Watcher) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := w.Watch(ctx, h.follow.notify)
		if ctx.Err() != nil || err == nil {
			return // stopping, or the store was closed
		}
		h.log.Warn("a2agrpc: watching the shared task store", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// stopBackground ends the background work and gives up this process's
// runner lease, so that tasks it leaves behind are recovered at once.
func (h *Handler) stopBackground() {
	h.bgMu.Lock()
	h.bgDone = true
	h.bgMu.Unlock()
	h.bgStop()
	h.bg.Wait()
	if r, ok := h.cfg.store.(taskstore.Reaper); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Release(ctx, h.runner); err != nil {
			h.log.Warn("a2agrpc: releasing the runner lease", "err", err)
		}
	}
}

func defaultCard() *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name:               "a2agrpc agent",
		Description:        "An A2A agent served by a2agrpc.",
		Version:            "0.0.0",
		Capabilities:       &a2av1.AgentCapabilities{Streaming: proto.Bool(true), PushNotifications: proto.Bool(true)},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
	}
}

// AgentCard returns the public card the handler enforces. It is shared and
// must not be modified.
func (h *Handler) AgentCard() *a2av1.AgentCard { return h.card }

// Store returns the task store.
func (h *Handler) Store() taskstore.Store { return h.cfg.store }

// Close stops accepting new messages and waits for running executions to
// finish until ctx is done; then it cancels the remaining ones (their tasks
// fail with an "interrupted" status) and waits a short grace period for them
// to record it. An agent that ignores its context is left running and
// reported in the error. The handler's metrics ([WithMetrics]) are
// unregistered.
func (h *Handler) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	defer h.metrics.unregister()
	defer h.stopBackground()
	done := make(chan struct{})
	go func() { h.executions.Wait(); close(done) }()
	select {
	case <-done:
		h.pool.stop()
		return nil
	case <-ctx.Done():
	}
	h.mu.Lock()
	for _, e := range h.running {
		if e != nil {
			e.cancel(errShutdown)
		}
	}
	h.mu.Unlock()
	select {
	case <-done:
		h.pool.stop()
		return ctx.Err()
	case <-time.After(interruptGrace):
		h.pool.signal() // idle workers exit; the stuck ones cannot be waited for
		h.mu.Lock()
		n := len(h.running)
		h.mu.Unlock()
		return fmt.Errorf("server: %d agents did not stop after cancellation: %w", n, ctx.Err())
	}
}

// interruptGrace is how long Close waits for cancelled agents to return.
const interruptGrace = 5 * time.Second

// begin checks the service parameters common to every operation and returns
// the call's info.
func (h *Handler) begin(ctx context.Context) (*CallInfo, error) {
	call := CallInfoFrom(ctx)
	if h.limiter != nil {
		if err := h.limiter.allow(limitKey(call), time.Now()); err != nil {
			return nil, err
		}
	}
	if err := checkVersion(call.Version); err != nil {
		return nil, err
	}
	if err := negotiateExtensions(call, h.card.GetCapabilities().GetExtensions()); err != nil {
		return nil, err
	}
	return call, nil
}

// claim reserves a task for one writer in this process: an execution, or a
// cancel of a task nobody runs (e == nil). ok is false if it is taken.
func (h *Handler) claim(taskID string, e *execution) (ok bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false, a2agrpc.NewError(a2agrpc.ReasonUnavailable, "server is shutting down")
	}
	if _, taken := h.running[taskID]; taken {
		return false, nil
	}
	h.running[taskID] = e
	if e != nil {
		h.executions.Add(1)
	}
	return true, nil
}

func (h *Handler) unclaim(taskID string) {
	h.mu.Lock()
	delete(h.running, taskID)
	h.mu.Unlock()
}

func (h *Handler) runningExecution(taskID string) (*execution, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.running[taskID]
	return e, ok
}

// release is called once by an execution that has finished.
func (h *Handler) release(e *execution) {
	h.unclaim(e.req.TaskID)
	h.broker.release(e.topic)
}

// loadTask returns a task the caller may see. A task of another caller or
// tenant is reported exactly like a missing one, so existence never leaks.
func (h *Handler) loadTask(ctx context.Context, call *CallInfo, tenant, id string) (taskstore.Record, error) {
	rec, err := h.store.Get(ctx, id)
	if err == nil && (rec.Owner != call.Caller || rec.Tenant != tenant) {
		err = taskstore.ErrNotFound
	}
	if err != nil {
		return rec, storeError(err, id)
	}
	return rec, nil
}

// write stores a change of a task this process made and publishes nothing:
// callers publish the event with the returned version. It is the one place
// where an update's push flag and the deliverer's wake-up go together.
func (h *Handler) write(ctx context.Context, id string, version int64, next *a2av1.Task, ev *a2av1.StreamResponse) (int64, error) {
	u := taskstore.Update{Task: next, Event: ev, Push: h.pushes(ev), Runner: h.runner}
	v, err := h.store.Update(ctx, id, version, u)
	if err == nil && u.Push {
		h.queued()
	}
	if st := ev.GetStatusUpdate(); err == nil && st != nil {
		h.metrics.stateEntered(st.GetStatus().GetState())
	}
	return v, err
}
