package registry

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
	"github.com/a2agrpc/a2agrpc/cardsign"
	"github.com/a2agrpc/a2agrpc/client"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// RegisterAgent implements [registryv1.RegistryServiceServer]: it takes
// the card (or fetches it from card_url), verifies its signature when it
// has one and keys are configured, and creates the registration, or
// replaces it when the caller already owns this agent_id (keeping its
// register_time). The lease starts now.
func (s *Service) RegisterAgent(ctx context.Context, req *registryv1.RegisterAgentRequest) (*registryv1.AgentRegistration, error) {
	reg, err := s.newRegistration(ctx, req)
	if err != nil {
		return nil, err
	}
	id := reg.GetAgentId()
	for range maxAttempts {
		now := s.cfg.now()
		reg.RegisterTime = timestamppb.New(now)
		reg.RenewTime = reg.RegisterTime
		reg.ExpireTime = timestamppb.New(now.Add(reg.GetTtl().AsDuration()))
		var expect int64
		old, err := s.store.Get(ctx, id)
		switch {
		case errors.Is(err, regstore.ErrNotFound):
		case err != nil:
			return nil, storeError(err)
		case regstore.Expired(old, now):
			expect = old.GetRevision() // nobody's any more: a fresh registration
		case old.GetOwner() != reg.GetOwner():
			return nil, notOwner(id)
		default:
			expect = old.GetRevision()
			reg.RegisterTime = old.GetRegisterTime()
		}
		stored, err := s.store.Put(ctx, reg, expect)
		if errors.Is(err, regstore.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, storeError(err)
		}
		s.view.put(stored)
		s.cfg.logger.Info("registry: agent registered", "agent_id", id, "name", reg.GetCard().GetName(),
			"card_verified", reg.GetCardVerified(), "ttl", reg.GetTtl().AsDuration(), "renewal", expect != 0)
		return proto.Clone(stored).(*registryv1.AgentRegistration), nil
	}
	return nil, errContended
}

// newRegistration validates req and builds the registration it asks for,
// without its times and revision.
func (s *Service) newRegistration(ctx context.Context, req *registryv1.RegisterAgentRequest) (*registryv1.AgentRegistration, error) {
	ttl, err := s.leaseOf(req)
	if err != nil {
		return nil, err
	}
	if req.GetAgentId() != "" {
		if err := checkAgentID(req.GetAgentId()); err != nil {
			return nil, err
		}
	}
	if err := checkLabels(req.GetLabels()); err != nil {
		return nil, err
	}
	card, cardURL, err := s.cardOf(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := checkCard(card); err != nil {
		return nil, err
	}
	verified, err := s.verify(card, cardURL)
	if err != nil {
		return nil, err
	}
	id := req.GetAgentId()
	if id == "" {
		id = DeriveAgentID(card)
	}
	return &registryv1.AgentRegistration{
		AgentId:      id,
		Card:         card,
		CardUrl:      cardURL,
		CardVerified: verified,
		Status:       registryv1.AgentStatus_AGENT_STATUS_HEALTHY,
		Labels:       req.GetLabels(),
		Owner:        auth.Identity(ctx),
		Ttl:          durationpb.New(ttl),
	}, nil
}

// leaseOf is the lease req asks for, clamped to the configured bounds.
func (s *Service) leaseOf(req *registryv1.RegisterAgentRequest) (time.Duration, error) {
	if req.GetTtl() == nil {
		return s.cfg.clampTTL(0), nil
	}
	if err := req.GetTtl().CheckValid(); err != nil {
		return 0, a2agrpc.InvalidParams("ttl", "%v", err)
	}
	d := req.GetTtl().AsDuration()
	if d < 0 {
		return 0, a2agrpc.InvalidParams("ttl", "must not be negative, got %s", d)
	}
	return s.cfg.clampTTL(d), nil
}

// cardOf returns the card req carries, or fetches the one its card_url
// names (and then that URL).
func (s *Service) cardOf(ctx context.Context, req *registryv1.RegisterAgentRequest) (*a2av1.AgentCard, string, error) {
	switch src := req.GetSource().(type) {
	case *registryv1.RegisterAgentRequest_Card:
		if src.Card == nil {
			return nil, "", a2agrpc.InvalidParams("card", "is required (or cardUrl)")
		}
		return src.Card, "", nil
	case *registryv1.RegisterAgentRequest_CardUrl:
		return s.fetchCard(ctx, src.CardUrl)
	}
	return nil, "", a2agrpc.InvalidParams("card", "is required (or cardUrl)")
}

// fetchCard reads the card at raw: an agent's base URL (the card is at its
// well-known path) or the card's own URL (ending in .json). The registry
// fetches whatever URL a caller names, so deployments exposed to
// untrusted callers should authenticate them and keep the registry out of
// networks it must not reach.
func (s *Service) fetchCard(ctx context.Context, raw string) (*a2av1.AgentCard, string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return nil, "", a2agrpc.InvalidParams("cardUrl", "is empty")
	case len(raw) > maxCardURLLen:
		return nil, "", a2agrpc.InvalidParams("cardUrl", "is longer than %d bytes", maxCardURLLen)
	case !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://"):
		return nil, "", a2agrpc.InvalidParams("cardUrl", "must be an http or https URL")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.fetchTimeout)
	defer cancel()
	card, err := client.FetchCard(ctx, raw, client.WithHTTPClient(s.http),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 2, InitialBackoff: 200 * time.Millisecond, MaxBackoff: time.Second}))
	if err != nil {
		// The caller named the URL, so telling it what went wrong there
		// reveals nothing it could not learn itself.
		return nil, "", a2agrpc.InvalidParams("cardUrl", "cannot read the Agent Card at %s: %s", raw, a2agrpc.AsError(err).Message).WithCause(err)
	}
	return card, raw, nil
}

// verify applies the signature policy: a signed card must verify with a
// trusted key when keys are configured (and then card_verified is true);
// an unsigned one is refused when signatures are required.
func (s *Service) verify(card *a2av1.AgentCard, cardURL string) (bool, error) {
	where := "the Agent Card"
	if cardURL != "" {
		where += " at " + cardURL
	}
	if len(card.GetSignatures()) == 0 {
		if s.cfg.requireSigned {
			return false, a2agrpc.InvalidParams("card.signatures", "%s is not signed, and this registry accepts only signed cards", where)
		}
		return false, nil
	}
	if s.cfg.cardKeys == nil {
		return false, nil
	}
	if _, err := cardsign.Verify(card, s.cfg.cardKeys); err != nil {
		return false, a2agrpc.InvalidParams("card.signatures", "%s: %v", where, err)
	}
	return true, nil
}
