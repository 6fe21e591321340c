package server

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// The four push-notification config operations store and validate webhook
// registrations; delivery is the push package's job.

func (h *Handler) pushSupported() error {
	if !h.card.GetCapabilities().GetPushNotifications() {
		return a2agrpc.NewError(a2agrpc.ReasonPushNotificationNotSupported, "this agent does not send push notifications")
	}
	return nil
}

// newPushConfig copies a validated config for storage, assigning an id.
func (h *Handler) newPushConfig(in *a2av1.TaskPushNotificationConfig, taskID, tenant string) *a2av1.TaskPushNotificationConfig {
	id := in.GetId()
	if id == "" {
		id = uuid.NewString()
	}
	return &a2av1.TaskPushNotificationConfig{
		Tenant: tenant, Id: id, TaskId: taskID, Url: in.GetUrl(), Token: in.GetToken(), Authentication: in.GetAuthentication(),
	}
}

// pushTask checks the push capability, the service parameters and that the
// caller may see the task.
func (h *Handler) pushTask(ctx context.Context, tenant, taskID string) error {
	call, err := h.begin(ctx)
	if err != nil {
		return err
	}
	if err := h.pushSupported(); err != nil {
		return err
	}
	if err := requireID("taskId", taskID); err != nil {
		return err
	}
	_, err = h.loadTask(ctx, call, tenant, taskID)
	return err
}

// CreateTaskPushNotificationConfig registers a webhook for a task. A config
// with the id of an existing one replaces it.
func (h *Handler) CreateTaskPushNotificationConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	if err := h.pushTask(ctx, req.GetTenant(), req.GetTaskId()); err != nil {
		return nil, err
	}
	if err := h.validatePushConfig("", req); err != nil {
		return nil, err
	}
	return h.putPushConfig(ctx, h.newPushConfig(req, req.GetTaskId(), req.GetTenant()))
}

// putPushConfig stores a config, enforcing the per-task limit; replacing an
// existing config (same id) is always allowed. The check and the write are
// one step under pushMu, so concurrent creates cannot exceed the limit.
func (h *Handler) putPushConfig(ctx context.Context, cfg *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	h.pushMu.Lock()
	defer h.pushMu.Unlock()
	existing, _, err := h.store.ListPushConfigs(ctx, cfg.TaskId, 0, "")
	if err != nil {
		return nil, storeError(err, cfg.TaskId)
	}
	if len(existing) >= h.cfg.maxPushConfigs && !slices.ContainsFunc(existing, func(c *a2av1.TaskPushNotificationConfig) bool {
		return c.GetId() == cfg.Id
	}) {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonResourceExhausted,
			"task %s already has %d push notification configs", cfg.TaskId, len(existing))
	}
	if err := h.store.PutPushConfig(ctx, cfg); err != nil {
		return nil, storeError(err, cfg.TaskId)
	}
	return cfg, nil
}

// GetTaskPushNotificationConfig returns one registration; an unknown one is
// TaskNotFound, as the specification requires.
func (h *Handler) GetTaskPushNotificationConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error) {
	if err := h.pushTask(ctx, req.GetTenant(), req.GetTaskId()); err != nil {
		return nil, err
	}
	if err := requireID("id", req.GetId()); err != nil {
		return nil, err
	}
	cfg, err := h.store.GetPushConfig(ctx, req.GetTaskId(), req.GetId())
	if err != nil {
		return nil, storeError(err, req.GetTaskId())
	}
	return cfg, nil
}

// ListTaskPushNotificationConfigs pages through a task's registrations in
// creation order (page size 1-100, default 50).
func (h *Handler) ListTaskPushNotificationConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
	if err := h.pushTask(ctx, req.GetTenant(), req.GetTaskId()); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultPageSize
	case size < 0 || size > MaxPageSize:
		return nil, a2agrpc.InvalidParams("pageSize", "must be between 1 and %d, got %d", MaxPageSize, size)
	}
	cfgs, next, err := h.store.ListPushConfigs(ctx, req.GetTaskId(), size, req.GetPageToken())
	if errors.Is(err, taskstore.ErrInvalidPageToken) {
		return nil, a2agrpc.InvalidParams("pageToken", "is not a token returned by ListTaskPushNotificationConfigs")
	}
	if err != nil {
		return nil, storeError(err, req.GetTaskId())
	}
	return &a2av1.ListTaskPushNotificationConfigsResponse{Configs: cfgs, NextPageToken: next}, nil
}

// DeleteTaskPushNotificationConfig removes a registration; deleting one that
// does not exist succeeds (the operation is idempotent).
func (h *Handler) DeleteTaskPushNotificationConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) (*emptypb.Empty, error) {
	if err := h.pushTask(ctx, req.GetTenant(), req.GetTaskId()); err != nil {
		return nil, err
	}
	if err := requireID("id", req.GetId()); err != nil {
		return nil, err
	}
	if err := h.store.DeletePushConfig(ctx, req.GetTaskId(), req.GetId()); err != nil {
		return nil, storeError(err, req.GetTaskId())
	}
	return &emptypb.Empty{}, nil
}

func storeError(err error, taskID string) error {
	if errors.Is(err, taskstore.ErrNotFound) {
		return a2agrpc.ErrTaskNotFound.WithMeta("taskId", taskID)
	}
	return a2agrpc.AsError(err)
}
