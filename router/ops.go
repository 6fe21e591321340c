package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// The unary operations of [Agent]. Where each goes, what is retried and
// what fails over is described on [Route] and [Retry].

// SendMessage sends a message to one endpoint and returns its reply. A
// follow-up message (one with a taskId) goes to its task's endpoint. It is
// never repeated: it moves to another endpoint only when the first was
// turned away before anything was sent (see [Route]).
func (rt *Route) SendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	pl, err := rt.placeTask(ctx, req.GetTenant(), req.GetMessage().GetTaskId())
	if err != nil {
		return nil, err
	}
	resp, ep, err := unary(ctx, rt, opSendMessage, pl, func(ctx context.Context, c *client.Client) (*a2av1.SendMessageResponse, error) {
		return c.SendMessage(ctx, req)
	})
	if err == nil {
		rt.learn(resp.GetTask().GetId(), ep)
	}
	return resp, err
}

// GetTask returns a task from its endpoint (any endpoint with
// SharedState); an unknown task is looked for on every endpoint.
func (rt *Route) GetTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error) {
	id := req.GetId()
	if id != "" && !rt.policy.SharedState && rt.home(id) == nil {
		_, task, err := rt.locate(ctx, req)
		return task, err
	}
	pl, err := rt.placeTask(ctx, req.GetTenant(), id)
	if err != nil {
		return nil, err
	}
	task, ep, err := unary(ctx, rt, opGetTask, pl, func(ctx context.Context, c *client.Client) (*a2av1.Task, error) {
		return c.GetTask(ctx, req)
	})
	rt.settle(id, ep, err)
	return task, err
}

// ListTasks returns a page of tasks from one endpoint. That is only
// meaningful when one endpoint can see all the route's tasks: with
// SharedState, or when the route has a single endpoint. Otherwise it fails
// with UNSUPPORTED_OPERATION: each endpoint would list only its own tasks
// and its own page tokens, and no merge of those pages can be paged
// consistently while tasks come and go.
func (rt *Route) ListTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error) {
	var pl placement
	if !rt.policy.SharedState {
		if rt.err != nil {
			return nil, rt.err
		}
		eps, err := rt.endpoints(ctx)
		if err != nil {
			return nil, err
		}
		if len(eps) > 1 {
			return nil, a2agrpc.Errorf(a2agrpc.ReasonUnsupportedOperation,
				"router: route %s spreads tasks over %d agents that do not share a task store, so none of them can list them all; "+
					"set Policy.SharedState if they share one, or list through each agent", rt.name, len(eps)).WithMeta("route", rt.name)
		}
		pl.pinned = eps[0]
	}
	resp, ep, err := unary(ctx, rt, opListTasks, pl, func(ctx context.Context, c *client.Client) (*a2av1.ListTasksResponse, error) {
		return c.ListTasks(ctx, req)
	})
	if err == nil && !rt.policy.SharedState {
		for _, t := range resp.GetTasks() {
			rt.learn(t.GetId(), ep)
		}
	}
	return resp, err
}

// CancelTask asks the task's endpoint to cancel it. It is retried, being
// idempotent in effect: when a retry finds the task no longer cancelable
// because the lost first attempt canceled it, the canceled task is
// returned.
func (rt *Route) CancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error) {
	pl, err := rt.placeTask(ctx, req.GetTenant(), req.GetId())
	if err != nil {
		return nil, err
	}
	attempts := 0
	task, ep, err := unary(ctx, rt, opCancelTask, pl, func(ctx context.Context, c *client.Client) (*a2av1.Task, error) {
		attempts++
		task, err := c.CancelTask(ctx, req)
		if attempts > 1 && errors.Is(err, a2agrpc.ErrTaskNotCancelable) {
			cur, gerr := c.GetTask(ctx, &a2av1.GetTaskRequest{Tenant: req.GetTenant(), Id: req.GetId()})
			if gerr == nil && cur.GetStatus().GetState() == a2av1.TaskState_TASK_STATE_CANCELED {
				return cur, nil
			}
		}
		return task, err
	})
	rt.settle(req.GetId(), ep, err)
	return task, err
}

// CreateTaskPushNotificationConfig registers a webhook with the task's
// endpoint. It is never repeated.
func (rt *Route) CreateTaskPushNotificationConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	return taskOp(ctx, rt, opCreatePushConfig, req.GetTenant(), req.GetTaskId(), func(ctx context.Context, c *client.Client) (*a2av1.TaskPushNotificationConfig, error) {
		return c.CreateTaskPushNotificationConfig(ctx, req)
	})
}

// GetTaskPushNotificationConfig returns one webhook of a task from its
// endpoint.
func (rt *Route) GetTaskPushNotificationConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error) {
	return taskOp(ctx, rt, opGetPushConfig, req.GetTenant(), req.GetTaskId(), func(ctx context.Context, c *client.Client) (*a2av1.TaskPushNotificationConfig, error) {
		return c.GetTaskPushNotificationConfig(ctx, req)
	})
}

// ListTaskPushNotificationConfigs returns a page of a task's webhooks from
// its endpoint.
func (rt *Route) ListTaskPushNotificationConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
	return taskOp(ctx, rt, opListPushConfigs, req.GetTenant(), req.GetTaskId(), func(ctx context.Context, c *client.Client) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
		return c.ListTaskPushNotificationConfigs(ctx, req)
	})
}

// DeleteTaskPushNotificationConfig removes a webhook at the task's
// endpoint. It is never repeated: a repeat after a delete that happened
// would report the config missing.
func (rt *Route) DeleteTaskPushNotificationConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) error {
	_, err := taskOp(ctx, rt, opDeletePushConfig, req.GetTenant(), req.GetTaskId(), func(ctx context.Context, c *client.Client) (struct{}, error) {
		return struct{}{}, c.DeleteTaskPushNotificationConfig(ctx, req)
	})
	return err
}

// GetExtendedAgentCard returns the extended card of one endpoint. The
// endpoints of a route are expected to be one agent's replicas; where they
// are different agents, which card comes back depends on the balance.
func (rt *Route) GetExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error) {
	card, _, err := unary(ctx, rt, opExtendedCard, placement{}, func(ctx context.Context, c *client.Client) (*a2av1.AgentCard, error) {
		return c.GetExtendedAgentCard(ctx, req)
	})
	return card, err
}

// taskOp runs an operation about task taskID where the task lives.
func taskOp[Resp any](ctx context.Context, rt *Route, o op, tenant, taskID string, call func(context.Context, *client.Client) (Resp, error)) (Resp, error) {
	pl, err := rt.placeTask(ctx, tenant, taskID)
	if err != nil {
		var zero Resp
		return zero, err
	}
	resp, ep, err := unary(ctx, rt, o, pl, call)
	rt.settle(taskID, ep, err)
	return resp, err
}

// home is the live endpoint the router knows task to live at, if any.
func (rt *Route) home(task string) *endpoint {
	own, ok := rt.r.aff.get(task)
	if !ok {
		return nil
	}
	return rt.r.endpoint(own.endpoint)
}

// placeTask says where a call about task may go: anywhere for no task;
// with SharedState anywhere, the task's last endpoint first; otherwise only
// the task's endpoint, found by asking around when unknown.
func (rt *Route) placeTask(ctx context.Context, tenant, task string) (placement, error) {
	if task == "" {
		return placement{}, nil
	}
	if rt.policy.SharedState {
		own, _ := rt.r.aff.get(task)
		return placement{prefer: own.endpoint}, nil
	}
	if ep := rt.home(task); ep != nil {
		return placement{pinned: ep}, nil
	}
	ep, _, err := rt.locate(ctx, &a2av1.GetTaskRequest{Tenant: tenant, Id: task, HistoryLength: proto.Int32(0)})
	if err != nil {
		return placement{}, err
	}
	return placement{pinned: ep}, nil
}

// locate asks the route's endpoints in turn for a task the router does not
// know, and learns where it lives. When none has it, the answer is
// TASK_NOT_FOUND if every endpoint said so, and otherwise the first other
// error, since the task may be on an endpoint that could not answer.
func (rt *Route) locate(ctx context.Context, req *a2av1.GetTaskRequest) (*endpoint, *a2av1.Task, error) {
	if rt.err != nil {
		return nil, nil, rt.err
	}
	eps, err := rt.endpoints(ctx)
	if err != nil {
		return nil, nil, err
	}
	var first *a2agrpc.Error
	var failed []string
	for _, e := range eps {
		task, _, err := unary(ctx, rt, opGetTask, placement{pinned: e}, func(ctx context.Context, c *client.Client) (*a2av1.Task, error) {
			return c.GetTask(ctx, req)
		})
		switch {
		case err == nil:
			rt.learn(req.GetId(), e)
			return e, task, nil
		case errors.Is(err, a2agrpc.ErrTaskNotFound):
		case ctx.Err() != nil:
			return nil, nil, err
		default:
			if first == nil {
				first = a2agrpc.AsError(err)
			}
			failed = append(failed, e.id)
		}
	}
	if first != nil {
		return nil, nil, &a2agrpc.Error{
			Reason: first.Reason,
			Message: fmt.Sprintf("router: task %q is not on the agents of route %s that answered, and %s could not tell: %s",
				req.GetId(), rt.name, strings.Join(failed, ", "), first.Message),
			Metadata:   map[string]string{"taskId": req.GetId()},
			RetryAfter: first.RetryAfter,
		}
	}
	return nil, nil, a2agrpc.Errorf(a2agrpc.ReasonTaskNotFound, "router: no agent of route %s has task %q", rt.name, req.GetId()).
		WithMeta("taskId", req.GetId())
}

// learn records that task lives at ep.
func (rt *Route) learn(task string, ep *endpoint) {
	if task != "" && ep != nil {
		rt.r.aff.put(task, ep.id, rt)
	}
}

// settle updates the affinity after a call about task answered by ep: an
// answer confirms it, TASK_NOT_FOUND from the endpoint refutes it.
func (rt *Route) settle(task string, ep *endpoint, err error) {
	switch {
	case task == "" || ep == nil:
	case err == nil:
		rt.learn(task, ep)
	case errors.Is(err, a2agrpc.ErrTaskNotFound):
		rt.r.aff.forget(task, ep.id)
	}
}
