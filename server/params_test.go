package server_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

func TestServiceParameters_version(t *testing.T) {
	h := newHandler(t, echo)
	for _, tt := range []struct {
		version string
		ok      bool
	}{
		{"", true}, {"1.0", true}, {"1.0.1", true}, {" 1.0 ", true},
		{"0.3", false}, {"2.0", false}, {"1", false}, {"1.1", false}, {"99.0", false},
	} {
		t.Run(fmt.Sprintf("%q", tt.version), func(t *testing.T) {
			ctx := server.WithCallInfo(context.Background(), &server.CallInfo{Version: tt.version})
			_, err := h.SendMessage(ctx, sendReq("x"))
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := wantReason(t, err, a2agrpc.ReasonVersionNotSupported)
			if e.GRPCCode().String() != "FailedPrecondition" || e.Metadata["requestedVersion"] == "" {
				t.Errorf("error %v (code %v, metadata %v)", e, e.GRPCCode(), e.Metadata)
			}
			// Every operation checks it, not only sends.
			_, err = h.ListTasks(ctx, &a2av1.ListTasksRequest{})
			wantReason(t, err, a2agrpc.ReasonVersionNotSupported)
		})
	}
}

func TestServiceParameters_extensions(t *testing.T) {
	const (
		required = "https://example.com/ext/required/v1"
		optional = "https://example.com/ext/optional/v1"
	)
	card := cardWith(func(c *a2av1.AgentCard) {
		c.Capabilities.Extensions = []*a2av1.AgentExtension{{Uri: required, Required: true}, {Uri: optional}}
	})
	var seen []string
	h := newHandler(t, server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
		seen = req.Extensions
		return w.Reply(server.TextPart("ok"))
	}), server.WithAgentCard(card))

	t.Run("required_missing", func(t *testing.T) {
		ctx := server.WithCallInfo(context.Background(), &server.CallInfo{Extensions: []string{optional}})
		e := wantReason(t, sendErrCtx(h, ctx), a2agrpc.ReasonExtensionSupportRequired)
		if e.Metadata["extension"] != required {
			t.Errorf("metadata = %v", e.Metadata)
		}
	})
	t.Run("activated_are_echoed_unknown_ignored", func(t *testing.T) {
		call := &server.CallInfo{Extensions: a2agrpc.SplitList(required+", https://unknown/ext", optional)}
		if err := sendErrCtx(h, server.WithCallInfo(context.Background(), call)); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(call.Activated()); got != fmt.Sprint([]string{required, optional}) {
			t.Errorf("activated = %v", got)
		}
		if fmt.Sprint(seen) != fmt.Sprint([]string{required, optional}) {
			t.Errorf("agent saw extensions %v", seen)
		}
	})
}

func sendErrCtx(h *server.Handler, ctx context.Context) error {
	_, err := h.SendMessage(ctx, sendReq("x"))
	return err
}

func cardWith(edit func(*a2av1.AgentCard)) *a2av1.AgentCard {
	c := &a2av1.AgentCard{
		Name: "test", Description: "test agent", Version: "1",
		Capabilities:       &a2av1.AgentCapabilities{Streaming: proto.Bool(true), PushNotifications: proto.Bool(true)},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
	}
	edit(c)
	return c
}

func TestCapabilityGating(t *testing.T) {
	ctx := context.Background()
	off := cardWith(func(c *a2av1.AgentCard) { c.Capabilities = &a2av1.AgentCapabilities{} })
	h := newHandler(t, echo, server.WithAgentCard(off))
	task := mustSend(t, h, ctx, sendReq("x"))
	tests := []struct {
		name string
		call func() error
		want a2agrpc.Reason
	}{
		{"stream", func() error { _, err := collect(h.SendStreamingMessage(ctx, sendReq("x"))); return err }, a2agrpc.ReasonUnsupportedOperation},
		{"subscribe", func() error {
			_, err := collect(h.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: task.GetId()}))
			return err
		}, a2agrpc.ReasonUnsupportedOperation},
		{"create_push", func() error {
			_, err := h.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: task.GetId(), Url: "https://hook"})
			return err
		}, a2agrpc.ReasonPushNotificationNotSupported},
		{"get_push", func() error {
			_, err := h.GetTaskPushNotificationConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "x"})
			return err
		}, a2agrpc.ReasonPushNotificationNotSupported},
		{"list_push", func() error {
			_, err := h.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId()})
			return err
		}, a2agrpc.ReasonPushNotificationNotSupported},
		{"delete_push", func() error {
			_, err := h.DeleteTaskPushNotificationConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "x"})
			return err
		}, a2agrpc.ReasonPushNotificationNotSupported},
		{"inline_push", func() error {
			req := sendReq("x")
			req.Configuration = &a2av1.SendMessageConfiguration{TaskPushNotificationConfig: &a2av1.TaskPushNotificationConfig{Url: "https://hook"}}
			return sendErr(h, req)
		}, a2agrpc.ReasonPushNotificationNotSupported},
		{"extended_card_off", func() error {
			_, err := h.GetExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{})
			return err
		}, a2agrpc.ReasonUnsupportedOperation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantReason(t, tt.call(), tt.want) })
	}
}

func TestGetExtendedAgentCard(t *testing.T) {
	card := cardWith(func(c *a2av1.AgentCard) { c.Capabilities.ExtendedAgentCard = proto.Bool(true) })
	ctx := context.Background()
	t.Run("not_configured", func(t *testing.T) {
		h := newHandler(t, echo, server.WithAgentCard(card))
		_, err := h.GetExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{})
		wantReason(t, err, a2agrpc.ReasonExtendedAgentCardNotConfigured)
	})
	t.Run("per_caller", func(t *testing.T) {
		h := newHandler(t, echo, server.WithAgentCard(card), server.WithExtendedAgentCard(
			func(_ context.Context, call *server.CallInfo) (*a2av1.AgentCard, error) {
				return cardWith(func(c *a2av1.AgentCard) { c.Name = "for " + call.Caller }), nil
			}))
		got, err := h.GetExtendedAgentCard(asCaller("alice"), &a2av1.GetExtendedAgentCardRequest{})
		if err != nil || got.GetName() != "for alice" {
			t.Errorf("GetExtendedAgentCard = %v, %v", got, err)
		}
		_, err = h.GetExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{})
		wantReason(t, err, a2agrpc.ReasonUnauthenticated)
	})
}

// TestValidation covers every invalid request the core rejects; each error
// names the offending field.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	h := newHandler(t, stateFromText)
	task := mustSend(t, h, ctx, sendReq("ask"))
	msg := func(edit func(*a2av1.Message)) *a2av1.SendMessageRequest {
		r := sendReq("x")
		edit(r.Message)
		return r
	}
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"missing_message", func() error { return sendErr(h, &a2av1.SendMessageRequest{}) }, "message"},
		{"missing_message_id", func() error { return sendErr(h, msg(func(m *a2av1.Message) { m.MessageId = "" })) }, "message.messageId"},
		{"huge_message_id", func() error {
			return sendErr(h, msg(func(m *a2av1.Message) { m.MessageId = string(make([]byte, 600)) }))
		}, "message.messageId"},
		{"unspecified_role", func() error { return sendErr(h, msg(func(m *a2av1.Message) { m.Role = 0 })) }, "message.role"},
		{"unknown_role", func() error { return sendErr(h, msg(func(m *a2av1.Message) { m.Role = 7 })) }, "message.role"},
		{"no_parts", func() error { return sendErr(h, msg(func(m *a2av1.Message) { m.Parts = nil })) }, "message.parts"},
		{"empty_part", func() error {
			return sendErr(h, msg(func(m *a2av1.Message) { m.Parts = append(m.Parts, &a2av1.Part{}) }))
		}, "message.parts[1]"},
		{"negative_history_length", func() error {
			r := sendReq("x")
			r.Configuration = &a2av1.SendMessageConfiguration{HistoryLength: proto.Int32(-1)}
			return sendErr(h, r)
		}, "configuration.historyLength"},
		{"inline_push_bad_url", func() error {
			r := sendReq("x")
			r.Configuration = &a2av1.SendMessageConfiguration{TaskPushNotificationConfig: &a2av1.TaskPushNotificationConfig{Url: "ftp://x"}}
			return sendErr(h, r)
		}, "configuration.taskPushNotificationConfig.url"},
		{"get_missing_id", func() error { _, err := h.GetTask(ctx, &a2av1.GetTaskRequest{}); return err }, "id"},
		{"get_negative_history", func() error {
			_, err := h.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId(), HistoryLength: proto.Int32(-5)})
			return err
		}, "historyLength"},
		{"list_page_size_zero", func() error {
			_, err := h.ListTasks(ctx, &a2av1.ListTasksRequest{PageSize: proto.Int32(0)})
			return err
		}, "pageSize"},
		{"list_page_size_101", func() error {
			_, err := h.ListTasks(ctx, &a2av1.ListTasksRequest{PageSize: proto.Int32(101)})
			return err
		}, "pageSize"},
		{"list_bad_page_token", func() error {
			_, err := h.ListTasks(ctx, &a2av1.ListTasksRequest{PageToken: "not-a-token"})
			return err
		}, "pageToken"},
		{"list_unknown_status", func() error {
			_, err := h.ListTasks(ctx, &a2av1.ListTasksRequest{Status: 42})
			return err
		}, "status"},
		{"push_create_missing_url", func() error {
			_, err := h.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: task.GetId()})
			return err
		}, "url"},
		{"push_create_relative_url", func() error {
			_, err := h.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: task.GetId(), Url: "/hook"})
			return err
		}, "url"},
		{"push_create_auth_without_scheme", func() error {
			_, err := h.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{
				TaskId: task.GetId(), Url: "https://hook", Authentication: &a2av1.AuthenticationInfo{Credentials: "x"},
			})
			return err
		}, "authentication.scheme"},
		{"push_missing_task_id", func() error {
			_, err := h.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{})
			return err
		}, "taskId"},
		{"push_get_missing_id", func() error {
			_, err := h.GetTaskPushNotificationConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: task.GetId()})
			return err
		}, "id"},
		{"push_list_bad_token", func() error {
			_, err := h.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId(), PageToken: "zz"})
			return err
		}, "pageToken"},
		{"push_list_page_size", func() error {
			_, err := h.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId(), PageSize: 500})
			return err
		}, "pageSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := wantReason(t, tt.call(), a2agrpc.ReasonInvalidParams)
			if e.Metadata["field"] != tt.field || len(e.Violations) != 1 || e.Violations[0].Field != tt.field {
				t.Errorf("error %q names field %q (violations %v), want %q", e.Message, e.Metadata["field"], e.Violations, tt.field)
			}
		})
	}
	// None of these reached the agent or created a task.
	resp, _ := h.ListTasks(ctx, &a2av1.ListTasksRequest{})
	if len(resp.GetTasks()) != 1 {
		t.Errorf("%d tasks exist, want only the setup task", len(resp.GetTasks()))
	}
}

func TestContentTypeNotSupported(t *testing.T) {
	card := cardWith(func(c *a2av1.AgentCard) {
		c.DefaultInputModes = []string{"text/plain"}
		c.Skills = []*a2av1.AgentSkill{{Id: "img", InputModes: []string{"image/*"}}}
	})
	h := newHandler(t, echo, server.WithAgentCard(card))
	data, _ := structpb.NewValue(map[string]any{"a": 1})
	for _, tt := range []struct {
		name string
		part *a2av1.Part
		ok   bool
	}{
		{"text", server.TextPart("hi"), true},
		{"image_via_skill", &a2av1.Part{Content: &a2av1.Part_Raw{Raw: []byte{1}}, MediaType: "image/png"}, true},
		{"raw_without_type", &a2av1.Part{Content: &a2av1.Part_Raw{Raw: []byte{1}}}, true},
		{"data_is_json", &a2av1.Part{Content: &a2av1.Part_Data{Data: data}}, false},
		{"pdf", &a2av1.Part{Content: &a2av1.Part_Url{Url: "https://x/doc.pdf"}, MediaType: "application/pdf"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := sendReq("x")
			req.Message.Parts = []*a2av1.Part{tt.part}
			err := sendErr(h, req)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantReason(t, err, a2agrpc.ReasonContentTypeNotSupported)
		})
	}
}
