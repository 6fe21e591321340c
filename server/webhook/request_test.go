package webhook

import (
	"context"
	"errors"
	"strings"
	"testing"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

func statusUpdate() *a2av1.StreamResponse {
	return &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_StatusUpdate{StatusUpdate: &a2av1.TaskStatusUpdateEvent{
		TaskId: "t1", ContextId: "c1", Status: &a2av1.TaskStatus{State: a2av1.TaskState_TASK_STATE_COMPLETED},
	}}}
}

func TestRequestWithoutSecretsHasNoAuthHeaders(t *testing.T) {
	req, err := newRequest(context.Background(), &a2av1.TaskPushNotificationConfig{Url: "https://example.com/h"}, statusUpdate())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Authorization", TokenHeader, LegacyTokenHeader} {
		if v := req.Header.Get(h); v != "" {
			t.Errorf("%s = %q, want absent", h, v)
		}
	}
	if req.Method != "POST" || req.Header.Get("Content-Type") != ContentType || req.GetBody == nil {
		t.Errorf("request = %s, Content-Type %q, rewindable body %v", req.Method, req.Header.Get("Content-Type"), req.GetBody != nil)
	}
}

func TestRequestRejectsBadInputsPermanently(t *testing.T) {
	good := &a2av1.TaskPushNotificationConfig{Url: "https://example.com/h"}
	for name, tc := range map[string]struct {
		cfg *a2av1.TaskPushNotificationConfig
		ev  *a2av1.StreamResponse
	}{
		"empty event":         {good, &a2av1.StreamResponse{}},
		"nil event":           {good, nil},
		"newline in token":    {&a2av1.TaskPushNotificationConfig{Url: good.Url, Token: "a\r\nX-Evil: 1"}, statusUpdate()},
		"newline in creds":    {&a2av1.TaskPushNotificationConfig{Url: good.Url, Authentication: &a2av1.AuthenticationInfo{Scheme: "Bearer", Credentials: testCredentials + "\n"}}, statusUpdate()},
		"control char scheme": {&a2av1.TaskPushNotificationConfig{Url: good.Url, Authentication: &a2av1.AuthenticationInfo{Scheme: "Bea\x00rer"}}, statusUpdate()},
	} {
		_, err := newRequest(context.Background(), tc.cfg, tc.ev)
		if err == nil || judge(0, err) != giveUp {
			t.Errorf("%s: err = %v, want a permanent error", name, err)
			continue
		}
		if strings.Contains(err.Error(), testCredentials) || strings.Contains(err.Error(), "X-Evil") {
			t.Errorf("%s: error %q quotes the secret", name, err)
		}
	}
	var p permanentError
	_, err := newRequest(context.Background(), good, nil)
	if !errors.As(err, &p) {
		t.Errorf("nil event: %v is not marked permanent", err)
	}
}

func TestAuthorizationWithSchemeOnly(t *testing.T) {
	req, err := newRequest(context.Background(), &a2av1.TaskPushNotificationConfig{
		Url: "https://example.com/h", Authentication: &a2av1.AuthenticationInfo{Scheme: "Negotiate"},
	}, statusUpdate())
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != "Negotiate" {
		t.Errorf("Authorization = %q, want the bare scheme", got)
	}
}
