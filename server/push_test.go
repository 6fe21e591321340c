package server_test

import (
	"context"
	"testing"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

func TestPushNotificationConfigs(t *testing.T) {
	ctx := context.Background()
	h := newHandler(t, stateFromText, server.WithMaxPushConfigsPerTask(3))
	inline := sendReq("ask")
	inline.Configuration = &a2av1.SendMessageConfiguration{TaskPushNotificationConfig: &a2av1.TaskPushNotificationConfig{
		Url: "https://hooks.example.com/a2a", Token: "tok", Authentication: &a2av1.AuthenticationInfo{Scheme: "Bearer", Credentials: "secret"},
	}}
	task := mustSend(t, h, ctx, inline)

	list := func(pageSize int32, token string) *a2av1.ListTaskPushNotificationConfigsResponse {
		t.Helper()
		resp, err := h.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId(), PageSize: pageSize, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	stored := list(0, "").GetConfigs()
	if len(stored) != 1 || stored[0].GetTaskId() != task.GetId() || stored[0].GetId() == "" || stored[0].GetToken() != "tok" {
		t.Fatalf("inline config stored as %v", stored)
	}

	created, err := h.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: task.GetId(), Url: "https://hooks.example.com/2"})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetId() == "" || created.GetTaskId() != task.GetId() {
		t.Errorf("created = %v: want an assigned id and the task id", created)
	}
	named, err := h.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: task.GetId(), Id: "mine", Url: "https://hooks.example.com/3"})
	if err != nil || named.GetId() != "mine" {
		t.Fatalf("create with id = %v, %v", named, err)
	}
	_, err = h.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: task.GetId(), Url: "https://hooks.example.com/4"})
	wantReason(t, err, a2agrpc.ReasonResourceExhausted)
	if _, err := h.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: task.GetId(), Id: "mine", Url: "https://hooks.example.com/5"}); err != nil {
		t.Errorf("replacing a config at the limit: %v", err)
	}

	got, err := h.GetTaskPushNotificationConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "mine"})
	if err != nil || got.GetUrl() != "https://hooks.example.com/5" {
		t.Errorf("Get = %v, %v", got, err)
	}
	p1 := list(2, "")
	p2 := list(2, p1.GetNextPageToken())
	if len(p1.GetConfigs()) != 2 || p1.GetNextPageToken() == "" || len(p2.GetConfigs()) != 1 || p2.GetNextPageToken() != "" {
		t.Errorf("paging: %d then %d configs", len(p1.GetConfigs()), len(p2.GetConfigs()))
	}

	for range 2 { // idempotent
		if _, err := h.DeleteTaskPushNotificationConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "mine"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = h.GetTaskPushNotificationConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "mine"})
	wantReason(t, err, a2agrpc.ReasonTaskNotFound)

	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"unknown_task", func() error {
			_, err := h.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: "nope", Url: "https://x"})
			return err
		}},
		{"other_caller_create", func() error {
			_, err := h.CreateTaskPushNotificationConfig(asCaller("eve"), &a2av1.TaskPushNotificationConfig{TaskId: task.GetId(), Url: "https://x"})
			return err
		}},
		{"other_caller_list", func() error {
			_, err := h.ListTaskPushNotificationConfigs(asCaller("eve"), &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId()})
			return err
		}},
		{"other_caller_delete", func() error {
			_, err := h.DeleteTaskPushNotificationConfig(asCaller("eve"), &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: created.GetId()})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) { wantReason(t, tt.call(), a2agrpc.ReasonTaskNotFound) })
	}
	if n := len(list(0, "").GetConfigs()); n != 2 {
		t.Errorf("%d configs left, want 2 (another caller's delete must not apply)", n)
	}
}
