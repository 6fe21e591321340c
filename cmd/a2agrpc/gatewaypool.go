package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc/gateway"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
)

// poolFlags are the gateway's flags for fronting a capability's pool of
// agents found through a registry instead of one -target.
type poolFlags struct {
	registry, skill, tag string
	shared, leastBusy    bool
	timeout              time.Duration
}

func (p *poolFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.registry, "registry", "", "gRPC address of a discovery registry (a2agrpc registry): front the pool of agents offering -skill/-tag, balanced, retried and failed over")
	fs.StringVar(&p.skill, "skill", "", "with -registry: the skill id the pool's agents offer")
	fs.StringVar(&p.tag, "tag", "", "with -registry: a tag of the skill the pool's agents offer")
	fs.BoolVar(&p.shared, "shared-state", false, "with -registry: the agents are replicas sharing one task store (PostgreSQL), so a task's calls may go to any of them")
	fs.BoolVar(&p.leastBusy, "least-outstanding", false, "with -registry: send each call to the agent with the fewest calls in flight (default: round-robin)")
	fs.DurationVar(&p.timeout, "pool-timeout", 0, "with -registry: per-call timeout (0: the caller's own deadline only)")
}

func (p *poolFlags) check() error {
	if p.registry == "" {
		if p.skill != "" || p.tag != "" || p.shared || p.leastBusy || p.timeout != 0 {
			return errors.New("gateway: -skill, -tag, -shared-state, -least-outstanding and -pool-timeout need -registry")
		}
		return nil
	}
	if p.skill == "" && p.tag == "" {
		return errors.New("gateway: -registry needs -skill or -tag: which capability's pool to front")
	}
	return nil
}

func (p *poolFlags) filter() *registryv1.AgentFilter {
	return &registryv1.AgentFilter{SkillId: p.skill, Tag: p.tag}
}

func (p *poolFlags) describe() string {
	var parts []string
	if p.skill != "" {
		parts = append(parts, "skill "+p.skill)
	}
	if p.tag != "" {
		parts = append(parts, "tag "+p.tag)
	}
	return strings.Join(parts, " and ")
}

// remote builds the gateway's upstream: a route of disc for the
// capability, served under cardFile's card or, without one, under the card
// of the pool's first agent (replicas of one capability describe the same
// agent), with the gateway's interfaces.
func (p *poolFlags) remote(ctx context.Context, disc *discovery, cardFile, base string) (*gateway.Remote, *a2av1.AgentCard, error) {
	policy := router.Policy{SharedState: p.shared, Timeout: p.timeout}
	if p.timeout == 0 {
		policy.Timeout = -1 // calls are bounded by their HTTP requests
	}
	if p.leastBusy {
		policy.Balance = router.LeastOutstanding
	}
	ready := func(ctx context.Context) error {
		eps, err := disc.res.Resolve(ctx, p.filter())
		if err == nil && len(eps) == 0 {
			err = fmt.Errorf("no healthy agent offers %s", p.describe())
		}
		return err
	}
	var card *a2av1.AgentCard
	if cardFile != "" {
		c, err := gatewayCard(cardFile, "", base)
		if err != nil {
			return nil, nil, err
		}
		card = c
	} else {
		eps, err := disc.res.Resolve(ctx, p.filter())
		if err != nil {
			return nil, nil, err
		}
		if len(eps) == 0 {
			return nil, nil, fmt.Errorf("gateway: no agent in registry %s offers %s yet; start one, or give -card to serve before any does", p.registry, p.describe())
		}
		card = withGatewayInterfaces(proto.Clone(eps[0].Card).(*a2av1.AgentCard), base)
		// Security and extensions are the agents' own; the gateway
		// passes credentials on and speaks neither the mesh nor
		// anything else beyond the HTTP bindings.
		if card.GetCapabilities() != nil {
			card.Capabilities.Extensions = nil
		}
	}
	route := disc.Route(p.filter(), policy)
	return gateway.NewPool(route, card, ready), card, nil
}
