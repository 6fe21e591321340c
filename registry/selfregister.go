package registry

import (
	"context"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// SelfRegister returns the function server/host.Config.Register takes:
// once the agent's listeners are bound and its final card exists, it
// registers that card with the registry c calls and keeps the
// registration alive ([Keep]); host's Shutdown then calls the returned
// stop, which deregisters before the agent drains. req supplies the
// agent_id, ttl and labels (nil: all defaults); its source is replaced by
// the card.
//
//	reg, _ := registry.Dial("registry:50070")
//	host.Start(exec, host.Config{Register: registry.SelfRegister(reg, nil)})
func SelfRegister(c *Client, req *registryv1.RegisterAgentRequest, opts ...KeepOption) func(context.Context, *a2av1.AgentCard) (func(context.Context) error, error) {
	return func(ctx context.Context, card *a2av1.AgentCard) (func(context.Context) error, error) {
		r := &registryv1.RegisterAgentRequest{}
		if req != nil {
			r = proto.Clone(req).(*registryv1.RegisterAgentRequest)
		}
		r.Source = &registryv1.RegisterAgentRequest_Card{Card: card}
		lease, err := Keep(ctx, c, r, opts...)
		if err != nil {
			return nil, err
		}
		return lease.Stop, nil
	}
}
