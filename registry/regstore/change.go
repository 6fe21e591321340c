package regstore

import (
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// Clone returns a copy of c that shares no registration with it. Stores
// give each watcher its own copy, as every registration they return is the
// caller's to modify.
func (c Change) Clone() Change {
	c.Reg = cloneReg(c.Reg)
	c.Removed = cloneReg(c.Removed)
	return c
}

func cloneReg(r *registryv1.AgentRegistration) *registryv1.AgentRegistration {
	if r == nil {
		return nil
	}
	return proto.Clone(r).(*registryv1.AgentRegistration)
}
