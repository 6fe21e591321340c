// Package taskevent reads what a stream event says about its task: which
// task it belongs to and whether the stream may end after it. The client's
// stream resumption and the router's resubscription both decide with it, so
// they agree on when a stream is over.
package taskevent

import a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"

// TaskID is the task an event belongs to, "" for a direct message.
func TaskID(r *a2av1.StreamResponse) string {
	switch {
	case r.GetTask() != nil:
		return r.GetTask().GetId()
	case r.GetStatusUpdate() != nil:
		return r.GetStatusUpdate().GetTaskId()
	case r.GetArtifactUpdate() != nil:
		return r.GetArtifactUpdate().GetTaskId()
	}
	return ""
}

// EndsStream reports whether a stream may end after this event: a direct
// message, or a task that reached a terminal state (or an interrupted one,
// INPUT_REQUIRED or AUTH_REQUIRED, when interrupted is true: a send's
// stream ends there, a subscription's goes on).
func EndsStream(r *a2av1.StreamResponse, interrupted bool) bool {
	if r.GetMessage() != nil {
		return true
	}
	var s a2av1.TaskState
	switch {
	case r.GetTask() != nil:
		s = r.GetTask().GetStatus().GetState()
	case r.GetStatusUpdate() != nil:
		s = r.GetStatusUpdate().GetStatus().GetState()
	default:
		return false
	}
	switch s {
	case a2av1.TaskState_TASK_STATE_COMPLETED, a2av1.TaskState_TASK_STATE_FAILED,
		a2av1.TaskState_TASK_STATE_CANCELED, a2av1.TaskState_TASK_STATE_REJECTED:
		return true
	case a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, a2av1.TaskState_TASK_STATE_AUTH_REQUIRED:
		return interrupted
	}
	return false
}
