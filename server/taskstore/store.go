package taskstore

import (
	"context"
	"errors"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Errors a Store returns. The server maps them to A2A errors.
var (
	ErrNotFound         = errors.New("taskstore: not found")
	ErrExists           = errors.New("taskstore: already exists")
	ErrConflict         = errors.New("taskstore: version conflict")
	ErrFull             = errors.New("taskstore: full")
	ErrInvalidPageToken = errors.New("taskstore: invalid page token")
	// ErrEventsTruncated is returned by Events when the requested position is
	// older than the oldest event the store still keeps.
	ErrEventsTruncated = errors.New("taskstore: events no longer available")
)

// Record is a stored task and the bookkeeping around it.
//
// Task is immutable once handed to the store: the server builds a new Task
// value for every update (sharing unchanged sub-messages) and readers must
// never modify what they get back. This is what lets the in-memory store
// avoid deep copies.
type Record struct {
	Task *a2av1.Task
	// Version is 1 after Create and grows by one with every Update. When an
	// update carries an event, the event's Seq equals the new Version.
	Version int64
	// Owner is the identity of the caller that created the task; "" when
	// the server runs without authentication. Tenant is the interface tenant
	// the task was created through.
	Owner, Tenant string
	// Updated is the task's status timestamp, the key ListTasks sorts by.
	Updated time.Time
}

// Event is one entry of a task's ordered event log.
type Event struct {
	Seq      int64
	Response *a2av1.StreamResponse
}

// Update replaces a task's snapshot and optionally logs the event that
// produced it. Event is nil for changes that stream nothing, such as a
// follow-up message being added to the history.
type Update struct {
	Task  *a2av1.Task
	Event *a2av1.StreamResponse
}

// Query selects tasks for ListTasks. Tenant and Owner always scope the
// result; the other fields are optional filters.
type Query struct {
	Tenant, Owner string
	ContextID     string
	State         a2av1.TaskState // TASK_STATE_UNSPECIFIED: any
	UpdatedAfter  time.Time       // zero: no bound; otherwise Updated >= UpdatedAfter
	PageSize      int             // > 0
	PageToken     string          // "" for the first page
}

// Page is one page of a List result, newest first.
type Page struct {
	Records       []Record
	NextPageToken string // "" on the last page
	TotalSize     int    // matches before paging
}

// Store keeps tasks, their event logs and their push configs. All methods
// are safe for concurrent use.
type Store interface {
	// Create stores a new task at version 1. ErrExists if the id is taken,
	// ErrFull if the store is at capacity and can free nothing.
	Create(ctx context.Context, rec Record) error
	// Get returns the current record. ErrNotFound if absent or expired.
	Get(ctx context.Context, id string) (Record, error)
	// Update replaces the task if its version is still version, returning the
	// new version. ErrConflict if another writer got there first.
	Update(ctx context.Context, id string, version int64, u Update) (int64, error)
	// Events returns the logged events with Seq > afterSeq, oldest first.
	// ErrEventsTruncated if some of them were already discarded.
	Events(ctx context.Context, id string, afterSeq int64) ([]Event, error)
	// List returns one page of the tasks matching q, newest Updated first.
	List(ctx context.Context, q Query) (Page, error)

	// PutPushConfig stores or replaces a config (keyed by task id and config
	// id). ErrNotFound if the task does not exist.
	PutPushConfig(ctx context.Context, cfg *a2av1.TaskPushNotificationConfig) error
	// GetPushConfig returns one config. ErrNotFound if absent.
	GetPushConfig(ctx context.Context, taskID, id string) (*a2av1.TaskPushNotificationConfig, error)
	// ListPushConfigs pages through a task's configs in creation order.
	ListPushConfigs(ctx context.Context, taskID string, pageSize int, pageToken string) ([]*a2av1.TaskPushNotificationConfig, string, error)
	// DeletePushConfig removes a config; deleting an absent one succeeds.
	DeletePushConfig(ctx context.Context, taskID, id string) error
}
