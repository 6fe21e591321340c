package client

import (
	"context"
	"iter"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// The operations below are the eleven of A2A v1.0, the same on every
// transport. Errors are *a2agrpc.Error values, so
// errors.Is(err, a2agrpc.ErrTaskNotFound) works whichever binding carried
// the call. Unary calls without a deadline are bounded by [WithTimeout];
// the idempotent ones are retried per [WithRetry].

// SendMessage sends a message and returns the agent's reply: a Task, or a
// Message for an agent that answers directly. It is never retried.
func (c *Client) SendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.SendMessageRequest, t string) { r.Tenant = t })
	return unary(c, ctx, false, req, c.t.sendMessage)
}

// SendStreamingMessage sends a message and streams the task's events:
// first the Task (or a single Message), then status and artifact updates,
// ending after a terminal or interrupted state. A stream that drops is
// resumed through SubscribeToTask (see [Client.SubscribeToTask]).
func (c *Client) SendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) iter.Seq2[*a2av1.StreamResponse, error] {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.SendMessageRequest, t string) { r.Tenant = t })
	return c.resumable(ctx, req.GetTenant(), false, c.t.sendStreamingMessage(ctx, req))
}

// GetTask returns a task, with at most req.HistoryLength messages of
// history when set.
func (c *Client) GetTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error) {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.GetTaskRequest, t string) { r.Tenant = t })
	return unary(c, ctx, true, req, c.t.getTask)
}

// ListTasks returns one page of the caller's tasks; [Client.ListTaskPages]
// walks them all.
func (c *Client) ListTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error) {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.ListTasksRequest, t string) { r.Tenant = t })
	return unary(c, ctx, true, req, c.t.listTasks)
}

// ListTaskPages iterates over every page of ListTasks from req's page
// token on, following nextPageToken until the last page. Each page is
// fetched (and retried) as the iteration reaches it; an error ends it.
func (c *Client) ListTaskPages(ctx context.Context, req *a2av1.ListTasksRequest) iter.Seq2[*a2av1.ListTasksResponse, error] {
	return func(yield func(*a2av1.ListTasksResponse, error) bool) {
		page := &a2av1.ListTasksRequest{}
		if req != nil {
			page = proto.Clone(req).(*a2av1.ListTasksRequest)
		}
		seen := map[string]bool{page.GetPageToken(): true}
		for {
			resp, err := c.ListTasks(ctx, page)
			if !yield(resp, err) || err != nil || resp.GetNextPageToken() == "" {
				return
			}
			if next := resp.GetNextPageToken(); seen[next] {
				// A server that hands back a token already followed
				// would keep the iteration going for ever.
				yield(nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "ListTasks returned page token %q twice", next))
				return
			}
			page.PageToken = resp.GetNextPageToken()
			seen[page.PageToken] = true
		}
	}
}

// CancelTask asks the agent to cancel a task and returns it. It is never
// retried: a repeated cancel of a task canceled by the first would fail.
func (c *Client) CancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error) {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.CancelTaskRequest, t string) { r.Tenant = t })
	return unary(c, ctx, false, req, c.t.cancelTask)
}

// SubscribeToTask streams a running task's events: first the current Task,
// then its updates until it ends. If the stream drops (the connection is
// lost, the server restarts or drains), the client subscribes again and
// carries on: over HTTP+JSON, JSON-RPC and the mesh it resumes after the
// last event received (the server replays what was missed, nothing is
// repeated); over plain gRPC, which carries no event ids, it goes on with
// the task's current state as a Task event, then live updates. [WithoutResume]
// turns this off.
func (c *Client) SubscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest) iter.Seq2[*a2av1.StreamResponse, error] {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.SubscribeToTaskRequest, t string) { r.Tenant = t })
	return c.resumable(ctx, req.GetTenant(), true, c.t.subscribeToTask(ctx, req, -1))
}

// CreateTaskPushNotificationConfig registers a webhook for a task's
// updates. It is never retried.
func (c *Client) CreateTaskPushNotificationConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.TaskPushNotificationConfig, t string) { r.Tenant = t })
	return unary(c, ctx, false, req, c.t.createPushConfig)
}

// GetTaskPushNotificationConfig returns one webhook of a task.
func (c *Client) GetTaskPushNotificationConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error) {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.GetTaskPushNotificationConfigRequest, t string) { r.Tenant = t })
	return unary(c, ctx, true, req, c.t.getPushConfig)
}

// ListTaskPushNotificationConfigs returns a page of a task's webhooks.
func (c *Client) ListTaskPushNotificationConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.ListTaskPushNotificationConfigsRequest, t string) { r.Tenant = t })
	return unary(c, ctx, true, req, c.t.listPushConfigs)
}

// DeleteTaskPushNotificationConfig removes a webhook. It is not retried: a
// retry after a delete that did happen would report the config missing.
func (c *Client) DeleteTaskPushNotificationConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) error {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.DeleteTaskPushNotificationConfigRequest, t string) { r.Tenant = t })
	_, err := unary(c, ctx, false, req, func(ctx context.Context, r *a2av1.DeleteTaskPushNotificationConfigRequest) (struct{}, error) {
		return struct{}{}, c.t.deletePushConfig(ctx, r)
	})
	return err
}

// GetExtendedAgentCard returns the card the agent shows authenticated
// callers.
func (c *Client) GetExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error) {
	req = withTenant(c, req, req.GetTenant(), func(r *a2av1.GetExtendedAgentCardRequest, t string) { r.Tenant = t })
	return unary(c, ctx, true, req, c.t.getExtendedAgentCard)
}

// unary runs one unary call under the default timeout and the retry
// policy (for idempotent calls).
func unary[Req, Resp any](c *Client, ctx context.Context, idempotent bool, req Req, call func(context.Context, Req) (Resp, error)) (Resp, error) {
	ctx, cancel := c.cfg.bound(ctx)
	defer cancel()
	var resp Resp
	err := c.cfg.retry.do(ctx, idempotent, func(ctx context.Context) error {
		var err error
		resp, err = call(ctx, req)
		return err
	})
	return resp, err
}

// withTenant returns req with the client's tenant when it names none,
// copying it so that the caller's message is never modified.
func withTenant[M proto.Message](c *Client, req M, tenant string, set func(M, string)) M {
	if !req.ProtoReflect().IsValid() { // a nil request: send an empty one
		req = req.ProtoReflect().Type().New().Interface().(M)
	}
	if t := c.tenantOf(tenant); t != tenant {
		req = proto.Clone(req).(M)
		set(req, t)
	}
	return req
}
