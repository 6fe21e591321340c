package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// The workload of performance.md: a 200-byte text part; the echo agent
// answers a send with a completed task and streams five events.
var payload = strings.Repeat("a2a-grpc", 25)

func benchRequest() *a2av1.SendMessageRequest {
	return &a2av1.SendMessageRequest{Message: &a2av1.Message{
		MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{server.TextPart(payload)},
	}}
}

func BenchmarkSendMessage(b *testing.B) {
	h := newHandler(b, echo)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := h.SendMessage(ctx, benchRequest())
		if err != nil || resp.GetTask().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
			b.Fatalf("SendMessage = %v, %v", resp, err)
		}
	}
}

func BenchmarkSendMessageParallel(b *testing.B) {
	h := newHandler(b, echo)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.SendMessage(ctx, benchRequest()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSendStreamingMessage(b *testing.B) {
	h := newHandler(b, echo)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range h.SendStreamingMessage(ctx, benchRequest()) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 5 {
			b.Fatalf("%d events, want 5", n)
		}
	}
}

func BenchmarkSendStreamingMessageParallel(b *testing.B) {
	h := newHandler(b, echo)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for _, err := range h.SendStreamingMessage(ctx, benchRequest()) {
				if err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
}
