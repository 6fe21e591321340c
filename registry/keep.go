package registry

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// KeepOption configures [Keep].
type KeepOption func(*keepConfig)

type keepConfig struct {
	interval           time.Duration
	retryMin, retryMax time.Duration
	logger             *slog.Logger
}

// KeepInterval sets the heartbeat interval (default: a third of the lease
// the registry granted, so two heartbeats may be lost before it lapses).
func KeepInterval(d time.Duration) KeepOption {
	return func(c *keepConfig) { c.interval = max(d, 0) }
}

// KeepRetry sets the backoff between failed attempts (default 200 ms
// doubling to 5 s, never more than the heartbeat interval).
func KeepRetry(least, most time.Duration) KeepOption {
	return func(c *keepConfig) {
		if least > 0 && most >= least {
			c.retryMin, c.retryMax = least, most
		}
	}
}

// KeepLogger logs the lease's failures and recoveries (default: nothing).
func KeepLogger(l *slog.Logger) KeepOption {
	return func(c *keepConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// minInterval floors the heartbeat interval, whatever the lease.
const minInterval = 100 * time.Millisecond

// Lease keeps one registration alive: see [Keep].
type Lease struct {
	c   *Client
	req *registryv1.RegisterAgentRequest
	cfg keepConfig

	mu        sync.Mutex
	reg       *registryv1.AgentRegistration // the last granted; nil before the first
	id        string                        // the agent_id, once known
	attempted bool                          // a Register was sent

	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// Keep registers req with the registry and keeps the registration alive
// until [Lease.Stop]: it heartbeats every third of the lease, registers
// again when the registry no longer knows the agent (its lease lapsed
// during a partition, or the registry lost its memory), and retries
// failures with backoff. ctx bounds the first registration only.
//
// An error that retrying cannot fix (the request is invalid, the caller
// may not register) is returned. When the registry cannot be reached,
// Keep does not fail: the registry is how callers find the agent, not a
// reason for the agent not to run. It returns a Lease that registers as
// soon as the registry answers ([Lease.Registration] is nil until then).
func Keep(ctx context.Context, c *Client, req *registryv1.RegisterAgentRequest, opts ...KeepOption) (*Lease, error) {
	cfg := keepConfig{retryMin: 200 * time.Millisecond, retryMax: 5 * time.Second, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	l := &Lease{c: c, req: proto.Clone(req).(*registryv1.RegisterAgentRequest), cfg: cfg, done: make(chan struct{})}
	l.id = req.GetAgentId()
	if l.id == "" && req.GetCard() != nil {
		l.id = DeriveAgentID(req.GetCard())
	}
	if err := l.register(ctx); err != nil {
		if ctx.Err() != nil || !transient(err) {
			return nil, err
		}
		l.cfg.logger.Warn("registry: cannot register yet; retrying in the background", "agent_id", l.id, "error", err.Error())
	}
	lctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(lctx)
	return l, nil
}

// transient reports whether a failed call may succeed if repeated as is.
func transient(err error) bool {
	switch a2agrpc.AsError(err).Reason {
	case a2agrpc.ReasonUnavailable, a2agrpc.ReasonDeadlineExceeded, a2agrpc.ReasonResourceExhausted:
		return true
	}
	return false
}

// Registration is the registration as last granted or renewed (nil while
// the agent has not been registered). It must not be modified.
func (l *Lease) Registration() *registryv1.AgentRegistration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reg
}

// AgentID is the registration's agent_id ("" until known: a registration
// by card_url learns it from the registry).
func (l *Lease) AgentID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.id
}

// Stop ends the heartbeats and deregisters the agent, so callers stop
// being sent to it at once rather than when the lease lapses. A
// registration already gone is no error. Later calls return the first
// call's result.
func (l *Lease) Stop(ctx context.Context) error {
	l.stopOnce.Do(func() {
		l.cancel()
		<-l.done
		l.mu.Lock()
		id, granted, attempted := l.id, l.reg != nil, l.attempted
		l.mu.Unlock()
		if id == "" || !attempted {
			return
		}
		// A Register cut short by the cancel may still have succeeded, so
		// deregister whenever one was sent.
		err := l.c.Deregister(ctx, id)
		switch {
		case errors.Is(err, a2agrpc.ErrAgentNotFound):
		case errors.Is(err, a2agrpc.ErrUnauthorized) && !granted:
			// Never ours: another principal holds the id.
		default:
			l.stopErr = err
		}
	})
	return l.stopErr
}

// run heartbeats until ctx ends.
func (l *Lease) run(ctx context.Context) {
	defer close(l.done)
	b := newBackoff(l.cfg.retryMin, l.cfg.retryMax)
	failing := l.Registration() == nil
	wait := l.interval()
	if failing {
		wait = min(b.next(), wait)
	}
	for sleep(ctx, wait) {
		err := l.renew(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if failing {
				l.cfg.logger.Info("registry: registration renewed again", "agent_id", l.AgentID())
			}
			failing = false
			b.reset()
			wait = l.interval()
			continue
		}
		wait = min(b.next(), l.interval())
		if !failing {
			l.cfg.logger.Warn("registry: renewing the registration failed; retrying", "agent_id", l.AgentID(), "error", err.Error())
		}
		failing = true
	}
}

// renew heartbeats, or registers when there is nothing (any more) to
// heartbeat.
func (l *Lease) renew(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, max(l.interval(), time.Second))
	defer cancel()
	if l.Registration() == nil {
		return l.register(ctx)
	}
	reg, err := l.c.Heartbeat(ctx, l.AgentID())
	if errors.Is(err, a2agrpc.ErrAgentNotFound) {
		l.cfg.logger.Info("registry: the registry forgot the agent (lease lapsed?); registering again", "agent_id", l.AgentID())
		return l.register(ctx)
	}
	if err != nil {
		return err
	}
	l.granted(reg)
	return nil
}

// register sends the registration, under the agent_id known so far so
// the registration stays one.
func (l *Lease) register(ctx context.Context) error {
	l.mu.Lock()
	req := l.req
	if req.GetAgentId() == "" && l.id != "" && l.reg != nil {
		req = proto.Clone(req).(*registryv1.RegisterAgentRequest)
		req.AgentId = l.id
		l.req = req
	}
	l.attempted = true
	l.mu.Unlock()
	reg, err := l.c.Register(ctx, req)
	if err != nil {
		return err
	}
	l.granted(reg)
	return nil
}

func (l *Lease) granted(reg *registryv1.AgentRegistration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reg, l.id = reg, reg.GetAgentId()
}

// interval is the heartbeat interval: the configured one, or a third of
// the granted lease (of the lease asked for, or 30 s, before one is).
func (l *Lease) interval() time.Duration {
	if l.cfg.interval > 0 {
		return max(l.cfg.interval, minInterval)
	}
	l.mu.Lock()
	reg, req := l.reg, l.req
	l.mu.Unlock()
	ttl := DefaultTTL
	if reg.GetTtl() != nil {
		ttl = reg.GetTtl().AsDuration()
	} else if req.GetTtl() != nil {
		ttl = req.GetTtl().AsDuration()
	}
	return max(ttl/3, minInterval)
}
