package workflow

import (
	"encoding/json"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
)

// Status is where a step stands; ${steps.ID.status} reads it.
type Status string

// The statuses of a step. Pending and Running are transient; every step
// of a finished run ends in one of the other four.
const (
	StatusPending   Status = "pending"   // waiting for its dependencies or a free slot
	StatusRunning   Status = "running"   // an attempt is under way, or waiting to be retried
	StatusCompleted Status = "completed" // its task completed (or the agent replied directly)
	StatusFailed    Status = "failed"    // it failed, after its last attempt
	StatusCanceled  Status = "canceled"  // it was stopped because the run was (a step failed, or the run's context ended)
	StatusSkipped   Status = "skipped"   // it never started because the run stopped first
)

// EventType says what an [Event] reports.
type EventType string

// The events of a step, in the order they can happen:
//
//	pending → running (attempt n) → running (task id) → progress* → completed
//	                                                              ↘ retrying → running (attempt n+1) …
//	                                                              ↘ failed | canceled
//	pending → skipped
//
// Running is sent when an attempt starts, and again, with TaskID and the
// event that named the task, once the agent has created it. A step whose agent replies with a message
// instead of a task completes without a task id.
const (
	EventPending   EventType = "pending"
	EventRunning   EventType = "running"
	EventProgress  EventType = "progress"
	EventRetrying  EventType = "retrying"
	EventCompleted EventType = "completed"
	EventFailed    EventType = "failed"
	EventCanceled  EventType = "canceled"
	EventSkipped   EventType = "skipped"
)

// Event is one change in one step of a run.
type Event struct {
	// Type is what happened.
	Type EventType
	// Step is the step's id.
	Step string
	// Time is when the engine saw it happen.
	Time time.Time
	// Attempt is the attempt the event belongs to, from 1; for retrying,
	// the attempt about to start. 0 for pending and skipped.
	Attempt int
	// TaskID is the remote task, once the agent has created it.
	TaskID string
	// Update is the task event a progress event reports (a status update,
	// an artifact chunk), or, for the running event that names the task,
	// the event that named it (usually the Task as created). Shared: do
	// not modify it.
	Update *a2av1.StreamResponse
	// Backoff is how long a retrying step waits before its next attempt.
	Backoff time.Duration
	// Err is why the step failed, was canceled, skipped, or is retried.
	Err error
}

// MarshalJSON writes the event as one JSON object: type, step, time,
// attempt, taskId, backoff (a Go duration string), error (its text) and
// update (the A2A StreamResponse in ProtoJSON), each only when set.
func (e Event) MarshalJSON() ([]byte, error) {
	out := struct {
		Type    EventType       `json:"type"`
		Step    string          `json:"step"`
		Time    time.Time       `json:"time"`
		Attempt int             `json:"attempt,omitempty"`
		TaskID  string          `json:"taskId,omitempty"`
		Backoff string          `json:"backoff,omitempty"`
		Error   string          `json:"error,omitempty"`
		Update  json.RawMessage `json:"update,omitempty"`
	}{Type: e.Type, Step: e.Step, Time: e.Time, Attempt: e.Attempt, TaskID: e.TaskID}
	if e.Backoff > 0 {
		out.Backoff = e.Backoff.String()
	}
	if e.Err != nil {
		out.Error = e.Err.Error()
	}
	if e.Update != nil {
		b, err := a2ajson.Marshal(e.Update)
		if err != nil {
			return nil, err
		}
		out.Update = b
	}
	return json.Marshal(out)
}
