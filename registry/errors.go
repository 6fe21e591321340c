package registry

import (
	"errors"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// notFound is the error of an unknown, deregistered or expired agent_id;
// an agent that gets it on a heartbeat registers again.
func notFound(id string) *a2agrpc.Error {
	return a2agrpc.Errorf(a2agrpc.ReasonAgentNotFound, "agent %q is not registered (unknown, deregistered or expired); register it again", id).
		WithMeta("agentId", id)
}

// notOwner is the error of a write to another principal's registration.
// It does not say who owns it: principals are not the caller's business.
func notOwner(id string) *a2agrpc.Error {
	return a2agrpc.Errorf(a2agrpc.ReasonUnauthorized, "agent %q was registered by another principal; only it may change the registration", id).
		WithMeta("agentId", id)
}

// errContended answers a write that lost the optimistic race too many
// times in a row; the caller may simply retry.
var errContended = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "the registration is being changed concurrently; retry")

// errShuttingDown ends watches when the service closes, so clients watch
// again on another replica.
var errShuttingDown = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "the registry is shutting down; watch again")

// storeError turns a store failure into the error a caller gets. The
// store's own message is kept as the cause, for logs only.
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, regstore.ErrUnavailable):
		return a2agrpc.NewError(a2agrpc.ReasonUnavailable, "the registry's store is unavailable; retry later").WithCause(err)
	case errors.Is(err, regstore.ErrClosed):
		return errShuttingDown.WithCause(err)
	case errors.Is(err, regstore.ErrConflict):
		return errContended.WithCause(err)
	}
	return a2agrpc.AsError(err)
}

// maxAttempts bounds the read-modify-write retries of one call after
// optimistic conflicts: a conflict means another writer just succeeded,
// so a handful of retries settles any realistic contention.
const maxAttempts = 8
