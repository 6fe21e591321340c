package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry"
	"github.com/a2agrpc/a2agrpc/registry/agentfilter"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/router"
	"github.com/a2agrpc/a2agrpc/server/host"
)

// leaseTTL is the lease each agent asks the registry for. Its lease keeper
// heartbeats every third of it; were the process killed, the registry
// would drop the agents within this long even without their deregistering.
const leaseTTL = 10 * time.Second

// readyWait bounds the wait for the resolver to see every agent the
// workflow needs.
const readyWait = 10 * time.Second

// pipeline is everything the example runs in its one process, wired the
// way separate processes would be: a registry, three agents that register
// themselves with it over gRPC, and a router that finds them through a
// watch of it. Nothing but the registry's address connects the workflow
// to the agents.
type pipeline struct {
	store    *regstore.Memory
	registry *registry.Server
	// reg is the registry client the agents register with and the
	// resolver watches through. Separate processes would each dial their
	// own; one connection serves them all here.
	reg      *registry.Client
	agents   []*host.Agent
	resolver *registry.Resolver
	router   *router.Router
}

// startPipeline starts the registry, then each agent (host.Start returns
// once the agent is registered), then the resolver and the router over
// the registry. On failure it stops whatever it had started.
func startPipeline(summaryDelay time.Duration) (_ *pipeline, err error) {
	p := &pipeline{store: regstore.NewMemory()}
	defer func() {
		if err != nil {
			err = errors.Join(err, p.shutdown())
		}
	}()
	// HTTPAddr "-": the agents and the resolver speak gRPC; no REST needed.
	p.registry, err = registry.Start(registry.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "-", Store: p.store})
	if err != nil {
		return nil, err
	}
	if p.reg, err = registry.Dial(p.registry.Addr()); err != nil {
		return nil, err
	}
	for _, a := range agents(summaryDelay) {
		id := a.card.GetSkills()[0].GetId()
		ag, err := host.Start(a.exec, host.Config{
			Card: a.card,
			// The registration's id is the skill's, for readable output; by
			// default it is derived from the agent's address.
			Register: registry.SelfRegister(p.reg, &registryv1.RegisterAgentRequest{
				AgentId: id, Ttl: durationpb.New(leaseTTL), Labels: map[string]string{"example": "docpipeline"},
			}),
		})
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", id, err)
		}
		p.agents = append(p.agents, ag)
	}
	p.resolver = registry.NewResolver(p.reg, nil)
	if p.router, err = router.New(p.resolver); err != nil {
		return nil, err
	}
	return p, nil
}

// binding is which agent a capability resolved to.
type binding struct {
	filter *registryv1.AgentFilter
	agent  string // the registration id
	url    string // the first interface of its card
}

// waitReady waits until the resolver has an agent for every filter. The
// agents registered before startPipeline returned, but the resolver learns
// of them through its watch, a moment later; a workflow started before
// then would fail its first step with "no agent".
func (p *pipeline) waitReady(ctx context.Context, filters []*registryv1.AgentFilter) ([]binding, error) {
	ctx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var found []binding
		var missing []string
		for _, f := range filters {
			eps, err := p.resolver.Resolve(ctx, f)
			if err != nil {
				return nil, err
			}
			if len(eps) == 0 {
				missing = append(missing, agentfilter.Describe(f))
				continue
			}
			b := binding{filter: f, agent: eps[0].ID}
			if ifs := eps[0].Card.GetSupportedInterfaces(); len(ifs) > 0 {
				b.url = ifs[0].GetUrl()
			}
			found = append(found, b)
		}
		if len(missing) == 0 {
			return found, nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("no agent registered for %s within %v", strings.Join(missing, "; "), readyWait)
			}
			return nil, context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// registered lists the ids of the registrations the registry holds,
// read from its store: the registry's own record, not the resolver's view
// of it.
func (p *pipeline) registered(ctx context.Context) ([]string, error) {
	regs, err := p.store.List(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(regs))
	for i, r := range regs {
		ids[i] = r.GetAgentId()
	}
	slices.Sort(ids)
	return ids, nil
}

// stopAgents shuts the agents down. Each first stops its lease, which
// deregisters it, so that callers stop being sent to it before it drains.
// Calling it again does nothing.
func (p *pipeline) stopAgents() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, a := range slices.Backward(p.agents) {
		errs = append(errs, a.Shutdown(ctx))
	}
	p.agents = nil
	return errors.Join(errs...)
}

// shutdown stops everything startPipeline started, clients before the
// servers they call.
func (p *pipeline) shutdown() error {
	var errs []error
	if p.router != nil {
		errs = append(errs, p.router.Close())
	}
	errs = append(errs, p.stopAgents())
	if p.resolver != nil {
		p.resolver.Close()
	}
	if p.reg != nil {
		errs = append(errs, p.reg.Close())
	}
	if p.registry != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errs = append(errs, p.registry.Shutdown(ctx))
	}
	errs = append(errs, p.store.Close())
	return errors.Join(errs...)
}
