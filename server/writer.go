package server

import (
	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// ErrTaskFinished is returned by [TaskWriter] methods once the task is
// terminal (completed, failed, cancelled, rejected), after a direct reply,
// or after Execute returned. Agents usually treat it as "stop working".
var ErrTaskFinished = a2agrpc.NewError(a2agrpc.ReasonUnsupportedOperation, "task already finished")

// TaskWriter is how an agent reports progress. Every call is persisted and
// delivered, in order, to every stream following the task before it returns;
// it never blocks on slow streams. Methods are safe for concurrent use.
//
// The first call decides what the caller sees first: [TaskWriter.Reply]
// answers with a message and creates no task; anything else creates the task
// (in the state given by a first status call, otherwise WORKING).
type TaskWriter struct{ e *execution }

// Reply answers with a direct message instead of a task. It must be the
// execution's only event; once a task exists (e.g. the caller asked for
// returnImmediately) Reply completes the task with the message instead.
func (w *TaskWriter) Reply(parts ...*a2av1.Part) error { return w.e.reply(parts) }

// Status moves the task to state, optionally explaining it with an agent
// message (which also joins the history).
func (w *TaskWriter) Status(state a2av1.TaskState, msg *a2av1.Message) error {
	return w.e.status(state, msg)
}

// Working marks the task as being worked on; text, if not empty, becomes
// the status message.
func (w *TaskWriter) Working(text string) error {
	return w.e.status(a2av1.TaskState_TASK_STATE_WORKING, textMessage(text))
}

// Complete finishes the task successfully; text, if not empty, becomes the
// final status message.
func (w *TaskWriter) Complete(text string) error {
	return w.e.status(a2av1.TaskState_TASK_STATE_COMPLETED, textMessage(text))
}

// Fail finishes the task as failed, with text as the reason.
func (w *TaskWriter) Fail(text string) error {
	return w.e.status(a2av1.TaskState_TASK_STATE_FAILED, textMessage(text))
}

// Reject finishes the task as rejected, with text as the reason.
func (w *TaskWriter) Reject(text string) error {
	return w.e.status(a2av1.TaskState_TASK_STATE_REJECTED, textMessage(text))
}

// RequireInput pauses the task until the caller sends another message for
// it; text is the question. The agent normally returns from Execute next; the
// follow-up message starts a new Execute with the updated task.
func (w *TaskWriter) RequireInput(text string) error {
	return w.e.status(a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, textMessage(text))
}

// RequireAuth pauses the task until the caller provides credentials; text
// says what is needed. An agent that expects the credentials in a follow-up
// message returns from Execute (the message starts a new Execute); one that
// receives them out of band may keep running, and streams stay open while
// it does — but a follow-up message for the task is then refused until
// Execute returns.
func (w *TaskWriter) RequireAuth(text string) error {
	return w.e.status(a2av1.TaskState_TASK_STATE_AUTH_REQUIRED, textMessage(text))
}

// Artifact adds a complete artifact, or replaces the one with the same id.
func (w *TaskWriter) Artifact(a *a2av1.Artifact) error { return w.e.artifact(a, false, true) }

// ArtifactChunk delivers one chunk of an artifact: appendParts adds the parts
// to the chunks sent before under the same id; lastChunk marks the end.
func (w *TaskWriter) ArtifactChunk(a *a2av1.Artifact, appendParts, lastChunk bool) error {
	return w.e.artifact(a, appendParts, lastChunk)
}

// Task returns the task as it stands (nil before the first event). It is
// shared and must not be modified.
func (w *TaskWriter) Task() *a2av1.Task {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	return w.e.task
}

func textMessage(text string) *a2av1.Message {
	if text == "" {
		return nil
	}
	return AgentMessage(TextPart(text))
}

// checkArtifact rejects artifacts the A2A schema forbids.
func checkArtifact(a *a2av1.Artifact) error {
	switch {
	case a == nil:
		return a2agrpc.NewError(a2agrpc.ReasonInvalidAgentResponse, "agent wrote a nil artifact")
	case a.GetArtifactId() == "":
		return a2agrpc.NewError(a2agrpc.ReasonInvalidAgentResponse, "agent wrote an artifact without artifactId")
	case len(a.GetParts()) == 0:
		return a2agrpc.NewError(a2agrpc.ReasonInvalidAgentResponse, "agent wrote an artifact without parts")
	}
	return checkParts(a.GetParts())
}

func checkParts(parts []*a2av1.Part) error {
	for _, p := range parts {
		if p.GetContent() == nil {
			return a2agrpc.NewError(a2agrpc.ReasonInvalidAgentResponse, "agent wrote a part without content")
		}
	}
	return nil
}
