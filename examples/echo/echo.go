// Package echo is the demo agent `a2agrpc serve` runs by default, and the
// workload of `a2agrpc bench`: it echoes the text it receives as one
// artifact delivered in three chunks.
//
// A blocking send returns the completed task with the artifact; a streaming
// send yields exactly five events: the task (WORKING), three artifact chunks
// (the second and third with append, the third with lastChunk), and the
// COMPLETED status.
//
// The text "/hold" instead keeps the task WORKING until it is cancelled,
// which is how `a2agrpc bench -mode idle` holds subscriptions open.
package echo

import (
	"context"
	"strings"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// ArtifactID names the echo artifact.
const ArtifactID = "echo"

// Executor is the echo agent.
var Executor = server.ExecutorFunc(execute)

// Hold is the text that keeps an echo task open until it is cancelled.
const Hold = "/hold"

// MessagePrefix makes the agent answer with a Message instead of a task:
// "/message hi" is answered "hi", with no task created.
const MessagePrefix = "/message "

func execute(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	text := req.Text()
	if reply, ok := strings.CutPrefix(text, MessagePrefix); ok {
		return w.Reply(server.TextPart(reply))
	}
	if text == Hold {
		if err := w.Working("holding until canceled"); err != nil {
			return err
		}
		<-ctx.Done()
		return context.Cause(ctx)
	}
	if err := w.Working(""); err != nil {
		return err
	}
	third := len(text) / 3
	chunks := [3]string{text[:third], text[third : 2*third], text[2*third:]}
	for i, c := range chunks {
		if err := w.ArtifactChunk(server.TextArtifact(ArtifactID, c), i > 0, i == len(chunks)-1); err != nil {
			return err
		}
	}
	return nil // completes the task
}

// Card describes the echo agent. interfaces are filled in by whoever knows
// the listeners; extensions lists optional protocol extensions served.
func Card(interfaces []*a2av1.AgentInterface, extensions ...*a2av1.AgentExtension) *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name:                "a2agrpc echo",
		Description:         "Echoes the text of each message back as an artifact streamed in three chunks.",
		Version:             "1.0.0",
		SupportedInterfaces: interfaces,
		Provider:            &a2av1.AgentProvider{Organization: "a2agrpc", Url: "https://a2agrpc.dev"},
		Capabilities: &a2av1.AgentCapabilities{
			Streaming:         proto.Bool(true),
			PushNotifications: proto.Bool(true),
			Extensions:        extensions,
		},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2av1.AgentSkill{{
			Id: "echo", Name: "Echo", Description: "Repeats the message text.",
			Tags: []string{"echo", "test"}, Examples: []string{"hello"},
		}},
	}
}
