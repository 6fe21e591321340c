package workflow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Error is a problem with a workflow definition, or with evaluating one of
// its expressions: it names the field (in YAML spelling, e.g.
// "steps[1].depends_on[0]"), the step it belongs to and, for definitions
// read from YAML, the file, line and column of the offending node.
//
// Validation reports every problem it finds, joined with errors.Join;
// errors.As finds the first.
type Error struct {
	// File is the file the definition was loaded from ("" for [Parse] and
	// for definitions built in Go).
	File string
	// Line and Column locate the node in the YAML (1-based); 0 when
	// unknown.
	Line, Column int
	// Field is the path of the field, e.g. "steps[1].input.text"; "" for
	// the document as a whole.
	Field string
	// Step is the id of the step the field belongs to, if any.
	Step string
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	loc := e.File
	if e.Line > 0 {
		if loc == "" {
			loc = "line "
		} else {
			loc += ":"
		}
		loc += strconv.Itoa(e.Line)
		if e.Column > 0 {
			loc += ":" + strconv.Itoa(e.Column)
		}
	}
	if loc != "" {
		b.WriteString(loc + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Step != "" {
			fmt.Fprintf(&b, " (step %q)", e.Step)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// StepError is the error of a run that failed because a step did: it names
// the step, and wraps the cause (a *TaskStateError, a transport error from
// the client whose a2agrpc reason errors.Is still matches, a timeout
// wrapping context.DeadlineExceeded, or an *Error from an expression).
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %q: %v", e.Step, e.Err) }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// TaskStateError reports a task that ended, or stopped to wait, in a state
// other than COMPLETED: FAILED, REJECTED, CANCELED, or INPUT_REQUIRED and
// AUTH_REQUIRED, which a workflow cannot answer.
type TaskStateError struct {
	TaskID string
	State  a2av1.TaskState
	// Message is the text of the agent's status message, if any: usually
	// the reason, or the question asked.
	Message string
}

func (e *TaskStateError) Error() string {
	state := stateName(e.State)
	var s string
	switch e.State {
	case a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, a2av1.TaskState_TASK_STATE_AUTH_REQUIRED:
		s = fmt.Sprintf("task %s stopped in %s, which a workflow cannot answer (the task was canceled)", e.TaskID, state)
	default:
		s = fmt.Sprintf("task %s ended %s", e.TaskID, state)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Permanent marks err as not worth retrying: a [Dispatcher] returns it for
// failures that another attempt cannot change (a target it cannot serve, a
// request the agent will refuse again). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, was marked with
// [Permanent].
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// ErrCapabilityTarget is returned (marked [Permanent]) by [Direct] for a
// step whose target is a capability: resolving one needs a registry.
var ErrCapabilityTarget = errors.New("a capability target needs a registry-backed dispatcher; this one sends only to agent URLs")

// errAgentTarget is returned (marked [Permanent]) by [Routed] for a step
// naming an agent URL.
var errAgentTarget = errors.New("an agent URL target needs a direct dispatcher; this one routes only capabilities")

// stateName is a task state without its TASK_STATE_ prefix.
func stateName(s a2av1.TaskState) string { return strings.TrimPrefix(s.String(), "TASK_STATE_") }

// fieldPath builds field paths in YAML spelling.
type fieldPath string

func (p fieldPath) key(k string) fieldPath {
	if isIdent(k) {
		if p == "" {
			return fieldPath(k)
		}
		return p + "." + fieldPath(k)
	}
	return p + fieldPath("["+strconv.Quote(k)+"]")
}

func (p fieldPath) index(i int) fieldPath { return p + fieldPath("["+strconv.Itoa(i)+"]") }

// isIdent reports whether s is a name usable after a dot in expressions
// and paths: a letter or '_', then letters, digits, '_' or '-'.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}
