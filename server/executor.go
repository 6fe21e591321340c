package server

import (
	"context"
	"mime"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Executor is the agent. Execute runs once per accepted message: for a new
// task, or for a follow-up message to a task that was waiting for input.
//
// Execute reports progress through w and returns when its work for this
// message is done:
//   - returning nil completes the task unless the agent already moved it to
//     a terminal or interrupted state (INPUT_REQUIRED, AUTH_REQUIRED);
//   - returning an error fails the task; an *a2agrpc.Error returned before
//     any event instead fails the request itself with that error and creates
//     no task (useful for rejecting unsupported input).
//
// ctx is cancelled when the task is cancelled or the server shuts down; it is
// not tied to the caller's connection, so a client that disconnects does not
// abort accepted work. A panic in Execute fails the task, never the server.
type Executor interface {
	Execute(ctx context.Context, req *Request, w *TaskWriter) error
}

// ExecutorFunc adapts a function to [Executor].
type ExecutorFunc func(ctx context.Context, req *Request, w *TaskWriter) error

// Execute calls f.
func (f ExecutorFunc) Execute(ctx context.Context, req *Request, w *TaskWriter) error {
	return f(ctx, req, w)
}

// Canceler is the optional cancel hook of an [Executor]. When a running task
// is cancelled, Cancel is called before the task's context is cancelled and
// before the task is marked CANCELED; returning an error (for instance
// a2agrpc.ErrTaskNotCancelable) refuses the cancellation. "Running" means
// SUBMITTED or WORKING: on a store shared by replicas, the replica that
// receives the cancel calls it even when another replica runs the task
// (every replica runs the same agent), and so it is also asked about a
// task whose process died, before recovery fails it. Tasks waiting for
// their caller (INPUT_REQUIRED, AUTH_REQUIRED) with no agent running are
// cancelled without asking.
type Canceler interface {
	Cancel(ctx context.Context, task *a2av1.Task) error
}

// Request is what an agent receives for one message. It is read-only.
type Request struct {
	// Message is the caller's message, with TaskId and ContextId filled in.
	Message *a2av1.Message
	// Task is the task's state when execution starts, the message already
	// appended to its history; nil when the task is new and not yet created.
	Task *a2av1.Task
	// TaskID and ContextID identify the task (new or continued).
	TaskID, ContextID string
	// Tenant is the interface tenant the request came through.
	Tenant string
	// Caller is the authenticated identity of the caller, "" if anonymous.
	Caller string
	// Extensions are the A2A extensions activated for this request.
	Extensions []string
	// AcceptedOutputModes are the media types the caller accepts; empty
	// means anything.
	AcceptedOutputModes []string
	// Metadata is the request metadata (SendMessageRequest.metadata).
	Metadata *structpb.Struct
}

// Text returns the concatenated text parts of the message, newline-separated.
func (r *Request) Text() string {
	if parts := r.Message.GetParts(); len(parts) == 1 {
		return parts[0].GetText()
	}
	var b strings.Builder
	for _, p := range r.Message.GetParts() {
		if t, ok := p.GetContent().(*a2av1.Part_Text); ok {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// Accepts reports whether the caller accepts output of the given media type,
// honouring wildcards ("*/*", "text/*") and ignoring parameters.
func (r *Request) Accepts(mediaType string) bool {
	if len(r.AcceptedOutputModes) == 0 {
		return true
	}
	return slices.ContainsFunc(r.AcceptedOutputModes, func(accepted string) bool {
		return mediaTypeMatches(accepted, mediaType)
	})
}

// mediaTypeMatches reports whether pattern (possibly a wildcard) covers mt.
func mediaTypeMatches(pattern, mt string) bool {
	if pattern == mt {
		return true
	}
	pattern, mt = baseMediaType(pattern), baseMediaType(mt)
	if pattern == "*/*" || pattern == "*" || pattern == mt {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(mt, prefix+"/")
	}
	return false
}

func baseMediaType(s string) string {
	if mt, _, err := mime.ParseMediaType(s); err == nil {
		return mt
	}
	return strings.ToLower(strings.TrimSpace(s))
}
