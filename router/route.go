package router

import (
	"context"
	"errors"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// Route calls the agents that offer one capability, as one agent: it has
// the eleven A2A operations of client.Client, with the same signatures and
// errors (every error is an *a2agrpc.Error), and spreads, retries and
// fails over the calls per its [Policy]. Make routes with
// [Router.Route], or let [Router.SendMessage] pick one by rule.
//
// # Where each call goes
//
// A call that names no task (a new message, ListTasks,
// GetExtendedAgentCard) goes to an endpoint chosen by the Balance, among
// those whose breaker lets it through. A call about a task goes where the
// task lives: the router learns task → endpoint from every answer that
// names a task (send results, stream events, GetTask, ListTasks...). For a
// task it does not know, with SharedState any endpoint will do; without,
// it asks the endpoints in turn with GetTask until one knows the task (all
// answering TASK_NOT_FOUND is TASK_NOT_FOUND), then sends the call there.
// A follow-up message (one with a taskId) is a call about its task.
//
// # Failover
//
// An endpoint whose breaker is open (see [Breaker]) is skipped, so the
// calls after an endpoint dies go to the others once its breaker has seen
// Breaker.Failures failures. A retry (see [Retry]) prefers an endpoint the
// call has not tried yet, except for a task without SharedState, which
// only its endpoint can serve.
//
// SendMessage, SendStreamingMessage and the push config writes are never
// sent twice. They move to another endpoint only when the attempt
// certainly reached no agent: the breaker turned it away, the endpoint's
// client could not be made from its card, or the endpoint was dropped
// between being picked and used. Any other failure, including UNAVAILABLE
// (a connection can break after the request went out), is returned to the
// caller as it is.
type Route struct {
	r      *Router
	name   string
	filter *registryv1.AgentFilter
	policy Policy
	state  *routeState
	err    error // an invalid policy: every call fails with it
}

// Name is the route's label in metrics and logs: its rule's name, or a
// description of its capability such as "skill_id=translate".
func (rt *Route) Name() string { return rt.name }

// Policy is the route's policy, the default's values filled in.
func (rt *Route) Policy() Policy { return rt.policy }

// endpoints resolves the route's capability to the router's endpoints.
func (rt *Route) endpoints(ctx context.Context) ([]*endpoint, error) {
	found, err := rt.r.res.Resolve(ctx, rt.filter)
	if err != nil {
		var ae *a2agrpc.Error
		switch {
		case errors.As(err, &ae):
			return nil, ae
		case ctx.Err() != nil:
			return nil, a2agrpc.AsError(ctx.Err())
		}
		return nil, a2agrpc.Errorf(a2agrpc.ReasonUnavailable, "router: cannot resolve the agents of route %s", rt.name).WithCause(err)
	}
	eps, err := rt.r.sync(rt.state, found)
	if err != nil {
		return nil, err
	}
	if len(eps) == 0 {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonUnavailable, "router: no agent offers route %s", rt.name).WithMeta("route", rt.name)
	}
	return eps, nil
}
