package server

import (
	"cmp"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Stored tasks are immutable (see taskstore.Record). The functions here
// derive a new *Task for every change, sharing every sub-message that did not
// change. Slices are never appended to in place: a discarded derivation
// (after a version conflict) must not be able to write into the backing
// array of the stored task.

// IsTerminal reports whether no further change can happen to a task in s
// (the rule is the store's, which expires tasks by it).
func IsTerminal(s a2av1.TaskState) bool { return taskstore.IsTerminal(s) }

// IsInterrupted reports whether a task in s waits for the caller.
func IsInterrupted(s a2av1.TaskState) bool { return taskstore.IsInterrupted(s) }

// now is the timestamp of a change: UTC, truncated to milliseconds so that
// every binding prints it the same way.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func shallowTask(t *a2av1.Task) *a2av1.Task {
	return &a2av1.Task{Id: t.Id, ContextId: t.ContextId, Status: t.Status, Artifacts: t.Artifacts, History: t.History, Metadata: t.Metadata}
}

func appendClipped[T any](s []T, v ...T) []T { return append(slices.Clip(s), v...) }

// withStatus returns t in a new status; an explanatory message also joins
// the history, so the conversation is complete in one place.
func withStatus(t *a2av1.Task, st *a2av1.TaskStatus) *a2av1.Task {
	n := shallowTask(t)
	n.Status = st
	if st.GetMessage() != nil {
		n.History = appendClipped(t.History, st.GetMessage())
	}
	return n
}

// withMessage returns t with a message appended to its history.
func withMessage(t *a2av1.Task, m *a2av1.Message) *a2av1.Task {
	n := shallowTask(t)
	n.History = appendClipped(t.History, m)
	return n
}

// withArtifact returns t with an artifact added, replaced (same id, not
// append) or extended (append: its parts are added to the earlier chunks).
func withArtifact(t *a2av1.Task, a *a2av1.Artifact, appendParts bool) *a2av1.Task {
	n := shallowTask(t)
	i := slices.IndexFunc(t.Artifacts, func(x *a2av1.Artifact) bool { return x.GetArtifactId() == a.GetArtifactId() })
	if i < 0 {
		n.Artifacts = appendClipped(t.Artifacts, a)
		return n
	}
	merged := a
	if appendParts {
		merged = copyArtifact(t.Artifacts[i], len(a.Parts))
		extendArtifact(merged, a)
	}
	n.Artifacts = slices.Clone(t.Artifacts)
	n.Artifacts[i] = merged
	return n
}

// copyArtifact returns a new artifact with a's fields; its parts slice is a
// copy with room for extra more parts, so extending it never writes into a's.
func copyArtifact(a *a2av1.Artifact, extra int) *a2av1.Artifact {
	return &a2av1.Artifact{
		ArtifactId: a.ArtifactId, Name: a.Name, Description: a.Description,
		Parts: append(make([]*a2av1.Part, 0, len(a.Parts)+extra), a.Parts...), Metadata: a.Metadata, Extensions: a.Extensions,
	}
}

// extendArtifact applies a later chunk to dst, which the caller owns: the
// chunk's parts are appended, and its non-empty name, description,
// metadata and extensions replace the earlier ones.
func extendArtifact(dst, chunk *a2av1.Artifact) {
	dst.Parts = append(dst.Parts, chunk.Parts...)
	dst.Name, dst.Description = cmp.Or(chunk.Name, dst.Name), cmp.Or(chunk.Description, dst.Description)
	if chunk.Metadata != nil {
		dst.Metadata = chunk.Metadata
	}
	if len(chunk.Extensions) > 0 {
		dst.Extensions = chunk.Extensions
	}
}

// addArtifactInPlace is withArtifact for a task nobody else can see yet
// (a pending task of a deferred execution). The first chunk of an artifact
// is copied, since the agent owns it; later chunks extend that copy.
func addArtifactInPlace(t *a2av1.Task, a *a2av1.Artifact, appendParts bool) {
	i := slices.IndexFunc(t.Artifacts, func(x *a2av1.Artifact) bool { return x.GetArtifactId() == a.GetArtifactId() })
	switch {
	case i >= 0 && appendParts:
		extendArtifact(t.Artifacts[i], a)
	case i >= 0:
		t.Artifacts[i] = copyArtifact(a, 4)
	default:
		t.Artifacts = append(t.Artifacts, copyArtifact(a, 4))
	}
}

// statusAlloc puts a status and its timestamp in one allocation; every
// state change makes one, so this halves the allocations it costs.
type statusAlloc struct {
	st a2av1.TaskStatus
	ts timestamppb.Timestamp
}

func newStatus(state a2av1.TaskState, msg *a2av1.Message) *a2av1.TaskStatus {
	a := &statusAlloc{}
	t := now()
	a.ts.Seconds, a.ts.Nanos = t.Unix(), int32(t.Nanosecond())
	a.st.State, a.st.Message, a.st.Timestamp = state, msg, &a.ts
	return &a.st
}

// view returns what a caller sees of t: at most historyLength messages of
// history (nil: all, 0: none) and artifacts only when asked. It allocates only
// when something is left out.
func view(t *a2av1.Task, historyLength *int32, includeArtifacts bool) *a2av1.Task {
	trimHistory := historyLength != nil && int(*historyLength) < len(t.History)
	dropArtifacts := !includeArtifacts && len(t.Artifacts) > 0
	if !trimHistory && !dropArtifacts {
		return t
	}
	n := shallowTask(t)
	if trimHistory {
		if *historyLength <= 0 {
			n.History = nil
		} else {
			n.History = t.History[len(t.History)-int(*historyLength):]
		}
	}
	if dropArtifacts {
		n.Artifacts = nil
	}
	return n
}

// Events are built once per change and shared by the store's log and every
// stream. Each kind is one allocation holding the response, its oneof
// wrapper and the payload.

type taskEventAlloc struct {
	sr a2av1.StreamResponse
	w  a2av1.StreamResponse_Task
}

func taskEvent(t *a2av1.Task) *a2av1.StreamResponse {
	a := &taskEventAlloc{}
	a.w.Task = t
	a.sr.Payload = &a.w
	return &a.sr
}

type statusEventAlloc struct {
	sr a2av1.StreamResponse
	w  a2av1.StreamResponse_StatusUpdate
	ev a2av1.TaskStatusUpdateEvent
}

func statusEvent(t *a2av1.Task) *a2av1.StreamResponse {
	a := &statusEventAlloc{}
	a.ev.TaskId, a.ev.ContextId, a.ev.Status = t.GetId(), t.GetContextId(), t.GetStatus()
	a.w.StatusUpdate = &a.ev
	a.sr.Payload = &a.w
	return &a.sr
}

type artifactEventAlloc struct {
	sr a2av1.StreamResponse
	w  a2av1.StreamResponse_ArtifactUpdate
	ev a2av1.TaskArtifactUpdateEvent
}

func artifactEvent(t *a2av1.Task, art *a2av1.Artifact, appendParts, lastChunk bool) *a2av1.StreamResponse {
	a := &artifactEventAlloc{}
	a.ev.TaskId, a.ev.ContextId, a.ev.Artifact, a.ev.Append, a.ev.LastChunk = t.GetId(), t.GetContextId(), art, appendParts, lastChunk
	a.w.ArtifactUpdate = &a.ev
	a.sr.Payload = &a.w
	return &a.sr
}

func messageEvent(m *a2av1.Message) *a2av1.StreamResponse {
	return &a2av1.StreamResponse{Payload: &a2av1.StreamResponse_Message{Message: m}}
}
