package workflow

import (
	"time"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// plan is a validated definition, compiled for running: templates parsed,
// dependencies resolved both ways. It shares nothing mutable with the
// Definition it came from, so the caller may change that afterwards.
type plan struct {
	name    string
	steps   []*stepPlan // in definition order
	byID    map[string]*stepPlan
	outputs []outputPlan // sorted by name
}

// stepPlan is one compiled step.
type stepPlan struct {
	index      int
	id         string
	target     Target
	text       *template     // nil: no text part
	data       valueTemplate // nil: no data part
	filesFrom  []string
	deps       []string
	dependents []*stepPlan
	timeout    time.Duration
	retry      RetryPolicy
}

// outputPlan is one compiled entry of Definition.Output.
type outputPlan struct {
	name string
	t    *template
}

// cloneTarget copies t so that the plan does not share the caller's filter.
func cloneTarget(t Target) Target {
	if t.Capability != nil {
		t.Capability = proto.Clone(t.Capability).(*registryv1.AgentFilter)
	}
	return t
}
