package registry

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/a2agrpc/a2agrpc/client"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// prober checks every registered agent's health each probe interval, with
// a fixed number of workers. It keeps one client per agent, so a gRPC
// agent is probed over one long-lived connection, and closes it when the
// agent leaves the view or changes its interfaces.
type prober struct {
	s       *Service
	mu      sync.Mutex
	clients map[string]*probeClient // by agent_id
	busy    map[string]bool         // agent_ids being probed now
}

type probeClient struct {
	key string // the interfaces the client was made for
	c   *client.Client
}

func newProber(s *Service) *prober {
	return &prober{s: s, clients: map[string]*probeClient{}, busy: map[string]bool{}}
}

// run probes rounds until ctx ends, then waits for its workers and closes
// its clients. The first round starts at once: after a restart the view's
// statuses may be long out of date.
func (p *prober) run(ctx context.Context) {
	defer p.s.wg.Done()
	jobs := make(chan *registryv1.AgentRegistration)
	var workers sync.WaitGroup
	for range p.s.cfg.probeConcurrency {
		workers.Go(func() {
			for reg := range jobs {
				p.probe(ctx, reg)
			}
		})
	}
	defer func() {
		close(jobs)
		workers.Wait()
		p.closeAll()
	}()
	tick := time.NewTicker(p.s.cfg.probeEvery)
	defer tick.Stop()
	for {
		regs := p.s.view.all()
		p.forgetGone(regs)
		for _, reg := range regs {
			if !p.claim(reg.GetAgentId()) {
				continue // still being probed from the last round
			}
			select {
			case jobs <- reg:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// claim marks an agent as being probed, unless it already is.
func (p *prober) claim(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy[id] {
		return false
	}
	p.busy[id] = true
	return true
}

// probe checks one agent and records the verdict.
func (p *prober) probe(ctx context.Context, reg *registryv1.AgentRegistration) {
	defer func() {
		p.mu.Lock()
		delete(p.busy, reg.GetAgentId())
		p.mu.Unlock()
	}()
	if regstore.Expired(reg, p.s.cfg.now()) {
		return // the sweeper's now
	}
	c, err := p.clientFor(reg)
	if err != nil {
		// No interface this client speaks: the registry has no ground for
		// a verdict, so it gives none (heartbeats still keep the lease).
		p.s.cfg.logger.Debug("registry: cannot probe agent", "agent_id", reg.GetAgentId(), "error", err.Error())
		return
	}
	pctx, cancel := context.WithTimeout(ctx, p.s.cfg.probeTimeoutOrDefault())
	err = c.CheckHealth(pctx)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: the failure is ours, not the agent's
	}
	// An agent without grpc.health.v1 answered, which is all it can say.
	healthy := err == nil || errors.Is(err, client.ErrNoHealthService)
	result := "healthy"
	if !healthy {
		result = "unhealthy"
	}
	p.s.metrics.probes.WithLabelValues(result).Inc()
	p.record(ctx, reg, healthy, err)
}

// record writes the probe's verdict, and for an agent registered by URL
// (which has no heartbeat) renews its lease when it passed. The write
// names the revision probed: if anything changed the registration since
// (a heartbeat, another replica's probe), that change wins and this
// verdict is dropped; the next round probes again.
func (p *prober) record(ctx context.Context, reg *registryv1.AgentRegistration, healthy bool, cause error) {
	want := registryv1.AgentStatus_AGENT_STATUS_UNHEALTHY
	if healthy {
		want = registryv1.AgentStatus_AGENT_STATUS_HEALTHY
	}
	renew := healthy && reg.GetCardUrl() != ""
	if reg.GetStatus() == want && !renew {
		return
	}
	upd := proto.Clone(reg).(*registryv1.AgentRegistration)
	upd.Status = want
	if renew {
		now := p.s.cfg.now()
		upd.RenewTime = timestamppb.New(now)
		upd.ExpireTime = timestamppb.New(now.Add(reg.GetTtl().AsDuration()))
	}
	stored, err := p.s.store.Put(ctx, upd, reg.GetRevision())
	switch {
	case errors.Is(err, regstore.ErrConflict):
		return
	case err != nil:
		if ctx.Err() == nil {
			p.s.cfg.logger.Warn("registry: recording a health probe failed", "agent_id", reg.GetAgentId(), "error", err.Error())
		}
		return
	}
	p.s.view.put(stored)
	if reg.GetStatus() == want {
		return
	}
	if healthy {
		p.s.cfg.logger.Info("registry: agent healthy", "agent_id", reg.GetAgentId(), "name", reg.GetCard().GetName())
	} else {
		p.s.cfg.logger.Warn("registry: agent unhealthy", "agent_id", reg.GetAgentId(), "name", reg.GetCard().GetName(), "error", cause.Error())
	}
}

// clientFor returns the agent's probe client, making it on first use and
// again when the card's interfaces changed.
func (p *prober) clientFor(reg *registryv1.AgentRegistration) (*client.Client, error) {
	key := interfacesKey(reg)
	p.mu.Lock()
	defer p.mu.Unlock()
	id := reg.GetAgentId()
	if pc, ok := p.clients[id]; ok {
		if pc.key == key {
			return pc.c, nil
		}
		_ = pc.c.Close()
		delete(p.clients, id)
	}
	opts := append([]client.Option{
		// The mesh would add nothing to a health check; plain gRPC asks
		// the same health service.
		client.WithTransports(client.TransportGRPC, client.TransportREST, client.TransportJSONRPC),
		client.WithTimeout(p.s.cfg.probeTimeoutOrDefault()),
	}, p.s.cfg.probeOpts...)
	c, err := client.NewFromCard(reg.GetCard(), opts...)
	if err != nil {
		return nil, err
	}
	p.clients[id] = &probeClient{key: key, c: c}
	return c, nil
}

// interfacesKey identifies what a probe client connects to.
func interfacesKey(reg *registryv1.AgentRegistration) string {
	var b strings.Builder
	for _, i := range reg.GetCard().GetSupportedInterfaces() {
		b.WriteString(i.GetProtocolBinding())
		b.WriteByte(' ')
		b.WriteString(i.GetUrl())
		b.WriteByte(' ')
		b.WriteString(i.GetProtocolVersion())
		b.WriteByte('\n')
	}
	return b.String()
}

// forgetGone closes the clients of agents no longer registered.
func (p *prober) forgetGone(regs []*registryv1.AgentRegistration) {
	live := make(map[string]bool, len(regs))
	for _, r := range regs {
		live[r.GetAgentId()] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, pc := range p.clients {
		if !live[id] && !p.busy[id] {
			_ = pc.c.Close()
			delete(p.clients, id)
		}
	}
}

// closeAll closes every client, once the workers have stopped.
func (p *prober) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, pc := range p.clients {
		_ = pc.c.Close()
		delete(p.clients, id)
	}
}
