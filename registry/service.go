package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// Service implements [registryv1.RegistryServiceServer] over a
// [regstore.Store]. Writes go to the store (optimistically: read, change,
// write naming the revision read); searches and watches are answered from
// the service's view of the store, which follows the store's Watch, so
// several Services (registry replicas) sharing one store answer alike.
//
// Ownership: a registration belongs to the principal that created it
// (auth.Identity of the call; "" when the registry authenticates nobody,
// and then everyone is that one owner). Only the owner may heartbeat,
// replace or deregister it; anyone else gets PERMISSION_DENIED, whatever
// their other rights. A registration whose lease has expired belongs to
// no one: any principal may register the id again. Reads (GetAgent,
// SearchAgents, WatchAgents) are open to every caller the server let in.
type Service struct {
	registryv1.UnimplementedRegistryServiceServer

	store   regstore.Store
	cfg     config
	view    *view
	metrics *metrics
	http    *http.Client
	ownHTTP bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// initialLoadTimeout bounds the first List of the store in NewService.
const initialLoadTimeout = 30 * time.Second

// NewService loads the store's registrations and starts following its
// changes, sweeping expired registrations and, with [WithProbes], probing
// agents. It fails if the store cannot be read. Close stops it; the store
// stays the caller's to close, after Close.
func NewService(store regstore.Store, opts ...Option) (*Service, error) {
	if store == nil {
		return nil, errors.New("registry: nil store")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Service{store: store, cfg: cfg, view: newView(cfg.now), http: cfg.httpClient}
	if s.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		s.http, s.ownHTTP = &http.Client{Transport: tr}, true
	}
	var err error
	if s.metrics, err = newMetrics(cfg.metrics, s.view); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	changes, stop, err := s.subscribe(s.ctx, initialLoadTimeout)
	if err != nil {
		s.cancel()
		s.metrics.set.Unregister()
		return nil, fmt.Errorf("registry: loading the store: %w", err)
	}
	s.wg.Add(2)
	go s.follow(changes, stop)
	go s.sweep()
	if cfg.probeEvery > 0 {
		p := newProber(s)
		s.wg.Add(1)
		go p.run(s.ctx)
	}
	return s, nil
}

// Close stops the service: open watches end with UNAVAILABLE (clients
// watch again, elsewhere), the background work stops and is waited for.
// Calls in flight still reach the store. It does not close the store.
func (s *Service) Close() {
	s.once.Do(func() {
		s.view.close(errShuttingDown)
		s.cancel()
		s.wg.Wait()
		if s.ownHTTP {
			s.http.CloseIdleConnections()
		}
		s.metrics.set.Unregister()
	})
}

// subscribe watches the store, then lists it into the view: in that order,
// so that no change made between the two is missed (one seen twice is
// ignored by revision). stop ends the watch.
func (s *Service) subscribe(ctx context.Context, timeout time.Duration) (<-chan regstore.Change, context.CancelFunc, error) {
	wctx, stop := context.WithCancel(ctx)
	changes, err := s.store.Watch(wctx)
	if err != nil {
		stop()
		return nil, nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s.view.beginReload()
	list, err := s.store.List(lctx)
	if err != nil {
		stop()
		return nil, nil, err
	}
	s.view.reload(list)
	return changes, stop, nil
}

// Retry delays of the store follower after the store failed it.
const (
	followRetryMin = 100 * time.Millisecond
	followRetryMax = 10 * time.Second
)

// follow applies the store's changes to the view until the service
// closes. When the store asks for a resync, or its watch ends while the
// service runs (a lost connection), it subscribes again, with backoff,
// and reloads everything.
func (s *Service) follow(changes <-chan regstore.Change, stop context.CancelFunc) {
	defer s.wg.Done()
	for {
		resync := false
		for c := range changes {
			if c.Resync {
				resync = true
				break
			}
			s.view.apply(c)
		}
		stop()
		if s.ctx.Err() != nil {
			return
		}
		if !resync {
			s.cfg.logger.Warn("registry: the store's change feed ended; following it again")
		}
		b := newBackoff(followRetryMin, followRetryMax)
		for {
			var err error
			if changes, stop, err = s.subscribe(s.ctx, initialLoadTimeout); err == nil {
				break
			}
			if s.ctx.Err() != nil {
				return
			}
			d := b.next()
			s.cfg.logger.Warn("registry: cannot follow the store; retrying", "error", err.Error(), "retry_in", d)
			if !sleep(s.ctx, d) {
				return
			}
		}
	}
}

// sweep removes expired registrations every sweep interval. Every replica
// sweeps; the store hands each expired registration to exactly one.
func (s *Service) sweep() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.sweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		expired, err := s.store.Expire(s.ctx, s.cfg.now())
		if err != nil {
			if s.ctx.Err() == nil {
				s.cfg.logger.Warn("registry: sweeping expired registrations failed", "error", err.Error())
			}
			continue
		}
		for _, r := range expired {
			s.view.remove(r, regstore.ReasonExpired)
			s.cfg.logger.Info("registry: registration expired", "agent_id", r.GetAgentId(), "name", r.GetCard().GetName())
		}
		s.metrics.expirations.Add(float64(len(expired)))
		s.view.prune()
	}
}

// sleep waits d unless ctx ends first; it reports whether to go on.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
