package taskstore

import (
	"context"
	"errors"
	"time"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Errors a Store returns. The server maps them to A2A errors.
var (
	ErrNotFound = errors.New("taskstore: not found")
	ErrExists   = errors.New("taskstore: already exists")
	ErrConflict = &storeError{msg: "taskstore: version conflict",
		a2a: a2agrpc.NewError(a2agrpc.ReasonUnavailable, "the task is being changed concurrently; retry")}
	ErrFull = &storeError{msg: "taskstore: full",
		a2a: a2agrpc.NewError(a2agrpc.ReasonResourceExhausted, "the task store is full; retry later")}
	ErrInvalidPageToken = errors.New("taskstore: invalid page token")
	// ErrEventsTruncated is returned by Events when the requested position is
	// older than the oldest event the store still keeps.
	ErrEventsTruncated = errors.New("taskstore: events no longer available")
	// ErrUnavailable wraps failures to reach a store's database (connection
	// refused or lost, database shutting down). It is the A2A UNAVAILABLE
	// error itself, so every binding answers such a failure with a
	// retryable status rather than an internal error.
	ErrUnavailable = a2agrpc.ErrUnavailable
)

// storeError is a store condition a caller may act on (errors.Is matches
// it by identity) that also has a meaning on the wire: a2agrpc.AsError
// finds the A2A error through As, so a conflict the server gave up
// retrying, or a full disk, reaches the client as a retryable error rather
// than INTERNAL. It does not match A2A errors in errors.Is, so retry loops
// never mistake an outage for a conflict.
type storeError struct {
	msg string
	a2a *a2agrpc.Error
}

func (e *storeError) Error() string { return e.msg }

// As lets errors.As(err, **a2agrpc.Error) see the wire error.
func (e *storeError) As(target any) bool {
	if t, ok := target.(**a2agrpc.Error); ok {
		*t = e.a2a
		return true
	}
	return false
}

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
	// Runner identifies the server process that last wrote the task (see
	// [Reaper]); "" for stores used by one process only.
	Runner string
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
	// Push queues Event for delivery to every push config of the task, in
	// the same atomic step as the update (a transactional outbox): an event
	// is never logged without its notifications or the other way round.
	// Stores that do not implement [Outbox] ignore it.
	Push bool
	// Runner replaces Record.Runner: the process now responsible for the
	// task.
	Runner string
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
	// Create stores a new task at version 1, with the push configs given
	// (a send's inline config) in the same transaction: a caller never
	// sees a task accepted without the config it asked for. ErrExists if
	// the id is taken, ErrFull if the store is at capacity and can free
	// nothing.
	Create(ctx context.Context, rec Record, push ...*a2av1.TaskPushNotificationConfig) error
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

// Delivery is one push notification waiting in an [Outbox]: one event for
// one webhook.
type Delivery struct {
	ID     int64
	Config *a2av1.TaskPushNotificationConfig // as it stands when claimed
	Seq    int64
	Event  *a2av1.StreamResponse
	// Attempts counts earlier failed attempts.
	Attempts int
	// Err is set, and Config and Event are nil, when the stored delivery
	// cannot be decoded. It can never be sent: the claimer gives up on it
	// (CompleteDelivery) rather than the claim failing, which would hold
	// back every other notification forever.
	Err error
}

// Outbox is the queue of push notifications that [Update.Push] fills. A
// store shared by several processes lets any of them deliver: a claim
// leases a delivery, and a claimer that dies before completing it only
// delays it until the lease runs out (at-least-once delivery).
type Outbox interface {
	// ClaimDeliveries returns up to limit deliveries that are due, oldest
	// first, and hides them from other claims for lease. Each webhook gets
	// its notifications in order: only the oldest delivery still queued for
	// a config (task id, config id) can be claimed, so a delivery being
	// retried holds back the later ones of the same config.
	ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]Delivery, error)
	// CompleteDelivery removes a delivery: sent, or given up on.
	CompleteDelivery(ctx context.Context, id int64) error
	// RetryDelivery records a failed attempt and makes the delivery due
	// again at the given time.
	RetryDelivery(ctx context.Context, id int64, at time.Time) error
}

// Notification says that a task logged the event Seq. A Notification with
// an empty TaskID says that notifications may have been missed (listening
// just started, or the listening connection was re-established): a watcher
// must then re-read every task it follows.
type Notification struct {
	TaskID string
	Seq    int64
}

// Watcher is implemented by stores that several server processes share.
// It is how a process streams the events of a task that another process
// executes, and learns that another process cancelled a task it runs.
type Watcher interface {
	// Watch calls fn for every event that any process logs (its own
	// included) until ctx is done, in log order for each task. fn must not
	// block. Each time listening (re)starts, Watch first calls fn with the
	// empty Notification, since anything logged before was not heard.
	// Watch returns when ctx is done, or at once with an error if it
	// cannot start listening.
	Watch(ctx context.Context, fn func(Notification)) error
}

// Pinger is implemented by stores kept outside the process (a database
// file, a server): Ping reports whether the store answers now. Servers use
// it for readiness; a store without it is always ready.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Counter is implemented by stores that can count their tasks by current
// state: the a2a_tasks metric. Tasks past their retention are not counted.
// A store shared by replicas gives every replica the same, store-wide
// answer. It may cost a scan of the tasks, so callers should not ask more
// than about once a second.
type Counter interface {
	CountByState(ctx context.Context) (map[a2av1.TaskState]int64, error)
}

// Reaper is implemented by durable stores, where a task can outlive the
// process that was running it. Each process keeps a lease alive under its
// runner id; a task still SUBMITTED or WORKING whose runner's lease has
// expired (or that names no live runner) is an orphan: nothing will ever
// finish it, so the server fails it and its subscribers get a final event.
type Reaper interface {
	// KeepAlive creates or extends runner's lease until now+ttl.
	KeepAlive(ctx context.Context, runner string, ttl time.Duration) error
	// Release ends runner's lease at once (clean shutdown).
	Release(ctx context.Context, runner string) error
	// Orphans returns up to limit SUBMITTED or WORKING tasks whose runner
	// holds no live lease, oldest Updated first.
	Orphans(ctx context.Context, limit int) ([]Record, error)
}
