package server

import (
	"context"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// GetExtendedAgentCard returns the extended card for the caller. Without the
// capability it is UnsupportedOperation; with the capability but no
// [WithExtendedAgentCard] it is ExtendedAgentCardNotConfigured. The
// specification reserves the extended card for authenticated callers, so an
// anonymous caller gets UNAUTHENTICATED.
func (h *Handler) GetExtendedAgentCard(ctx context.Context, _ *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error) {
	call, err := h.begin(ctx)
	if err != nil {
		return nil, err
	}
	if !h.card.GetCapabilities().GetExtendedAgentCard() {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonUnsupportedOperation, "this agent has no extended agent card")
	}
	if h.cfg.extendedCard == nil {
		return nil, a2agrpc.NewError(a2agrpc.ReasonExtendedAgentCardNotConfigured, "")
	}
	if call.Caller == "" {
		return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "the extended agent card requires an authenticated caller")
	}
	card, err := h.cfg.extendedCard(ctx, call)
	if err != nil {
		return nil, a2agrpc.AsError(err)
	}
	if card == nil {
		return nil, a2agrpc.NewError(a2agrpc.ReasonExtendedAgentCardNotConfigured, "")
	}
	return card, nil
}
