package regstore

import (
	"errors"
	"time"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// ErrNoID: a registration given to Put has no agent_id. It is a caller's
// bug, not a store condition, so it is not one of the errors a caller is
// expected to handle.
var ErrNoID = errors.New("regstore: registration has no agent_id")

// Expired reports whether reg's lease ended before now. A registration
// without an expire_time never expires. Every store applies this rule.
func Expired(reg *registryv1.AgentRegistration, now time.Time) bool {
	return reg.GetExpireTime() != nil && reg.GetExpireTime().AsTime().Before(now)
}
