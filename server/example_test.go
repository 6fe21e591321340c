package server_test

import (
	"context"
	"fmt"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// An agent is a function that writes events; the handler owns the task.
func ExampleNewHandler() {
	shout := server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
		if err := w.Working("shouting"); err != nil {
			return err
		}
		return w.Artifact(server.TextArtifact("loud", req.Text()+"!"))
	})
	h, err := server.NewHandler(shout)
	if err != nil {
		panic(err)
	}
	defer h.Close(context.Background())

	resp, err := h.SendMessage(context.Background(), &a2av1.SendMessageRequest{Message: &a2av1.Message{
		MessageId: "m-1", Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{server.TextPart("hello")},
	}})
	if err != nil {
		panic(err)
	}
	task := resp.GetTask()
	fmt.Println(task.GetStatus().GetState())
	fmt.Println(task.GetArtifacts()[0].GetParts()[0].GetText())
	// Output:
	// TASK_STATE_COMPLETED
	// hello!
}

// Streaming shows every event as the agent writes it.
func ExampleHandler_SendStreamingMessage() {
	h, _ := server.NewHandler(server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
		_ = w.Working("")
		_ = w.ArtifactChunk(server.TextArtifact("a", "one "), false, false)
		return w.ArtifactChunk(server.TextArtifact("a", "two"), true, true)
	}))
	defer h.Close(context.Background())
	req := &a2av1.SendMessageRequest{Message: &a2av1.Message{
		MessageId: "m-1", Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{server.TextPart("count")},
	}}
	for ev, err := range h.SendStreamingMessage(context.Background(), req) {
		if err != nil {
			panic(err)
		}
		switch p := ev.Response.GetPayload().(type) {
		case *a2av1.StreamResponse_Task:
			fmt.Println("task", p.Task.GetStatus().GetState())
		case *a2av1.StreamResponse_ArtifactUpdate:
			fmt.Printf("artifact %q append=%t last=%t\n", p.ArtifactUpdate.GetArtifact().GetParts()[0].GetText(),
				p.ArtifactUpdate.GetAppend(), p.ArtifactUpdate.GetLastChunk())
		case *a2av1.StreamResponse_StatusUpdate:
			fmt.Println("status", p.StatusUpdate.GetStatus().GetState())
		}
	}
	// Output:
	// task TASK_STATE_WORKING
	// artifact "one " append=false last=false
	// artifact "two" append=true last=true
	// status TASK_STATE_COMPLETED
}
