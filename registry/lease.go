package registry

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/a2agrpc/a2agrpc/auth"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// Heartbeat implements [registryv1.RegistryServiceServer]: it renews the
// caller's registration for another ttl and marks it HEALTHY, unless
// active probes are on and the last one failed (the registry cannot reach
// the agent however alive it says it is; the next passing probe clears
// it). An unknown or expired registration is AGENT_NOT_FOUND: the agent
// registers again.
func (s *Service) Heartbeat(ctx context.Context, req *registryv1.HeartbeatRequest) (*registryv1.AgentRegistration, error) {
	id := req.GetAgentId()
	if err := checkAgentID(id); err != nil {
		return nil, err
	}
	for range maxAttempts {
		old, err := s.owned(ctx, id)
		if err != nil {
			return nil, err
		}
		now := s.cfg.now()
		reg := proto.Clone(old).(*registryv1.AgentRegistration)
		reg.RenewTime = timestamppb.New(now)
		reg.ExpireTime = timestamppb.New(now.Add(old.GetTtl().AsDuration()))
		if s.cfg.probeEvery == 0 || reg.GetStatus() != registryv1.AgentStatus_AGENT_STATUS_UNHEALTHY {
			reg.Status = registryv1.AgentStatus_AGENT_STATUS_HEALTHY
		}
		stored, err := s.store.Put(ctx, reg, old.GetRevision())
		if errors.Is(err, regstore.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, storeError(err)
		}
		s.view.put(stored)
		return proto.Clone(stored).(*registryv1.AgentRegistration), nil
	}
	return nil, errContended
}

// DeregisterAgent implements [registryv1.RegistryServiceServer]: the
// owner removes its registration at once, and watchers see it REMOVED
// (deregistered).
func (s *Service) DeregisterAgent(ctx context.Context, req *registryv1.DeregisterAgentRequest) (*emptypb.Empty, error) {
	id := req.GetAgentId()
	if err := checkAgentID(id); err != nil {
		return nil, err
	}
	for range maxAttempts {
		old, err := s.owned(ctx, id)
		if err != nil {
			return nil, err
		}
		removed, err := s.store.Delete(ctx, id, old.GetRevision(), regstore.ReasonDeregistered)
		switch {
		case errors.Is(err, regstore.ErrConflict):
			continue
		case errors.Is(err, regstore.ErrNotFound):
			return nil, notFound(id)
		case err != nil:
			return nil, storeError(err)
		}
		s.view.remove(removed, regstore.ReasonDeregistered)
		s.cfg.logger.Info("registry: agent deregistered", "agent_id", id, "name", removed.GetCard().GetName())
		return &emptypb.Empty{}, nil
	}
	return nil, errContended
}

// GetAgent implements [registryv1.RegistryServiceServer]. It reads the
// store, not the view, so a registration is found as soon as it was made,
// on any replica.
func (s *Service) GetAgent(ctx context.Context, req *registryv1.GetAgentRequest) (*registryv1.AgentRegistration, error) {
	id := req.GetAgentId()
	if err := checkAgentID(id); err != nil {
		return nil, err
	}
	return s.live(ctx, id)
}

// live reads a registration whose lease has not ended.
func (s *Service) live(ctx context.Context, id string) (*registryv1.AgentRegistration, error) {
	reg, err := s.store.Get(ctx, id)
	switch {
	case errors.Is(err, regstore.ErrNotFound):
		return nil, notFound(id)
	case err != nil:
		return nil, storeError(err)
	case regstore.Expired(reg, s.cfg.now()):
		return nil, notFound(id) // the sweeper has yet to remove it
	}
	return reg, nil
}

// owned reads a live registration the caller owns.
func (s *Service) owned(ctx context.Context, id string) (*registryv1.AgentRegistration, error) {
	reg, err := s.live(ctx, id)
	if err != nil {
		return nil, err
	}
	if reg.GetOwner() != auth.Identity(ctx) {
		return nil, notOwner(id)
	}
	return reg, nil
}
