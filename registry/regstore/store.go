// Package regstore keeps the registry's registrations: the Store interface
// the registry service is written against, an in-memory Store, and (in its
// subpackages) the durable ones on SQLite, embedded and the default, and on
// PostgreSQL, shared by several registry replicas.
//
// The store is the one source of truth; each registry replica keeps a view
// of it fed by Watch, and serves searches and watches from that view. Writes
// are optimistic: a writer reads a registration, changes it, and puts it back
// naming the revision it read, so two replicas renewing or probing the same
// agent never lose each other's changes.
package regstore

import (
	"context"
	"errors"
	"time"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

var (
	// ErrNotFound: no registration has this id.
	ErrNotFound = errors.New("regstore: registration not found")
	// ErrConflict: the registration is not at the revision the writer
	// named (it was changed, created or removed since it was read).
	ErrConflict = errors.New("regstore: registration changed concurrently")
	// ErrUnavailable: the store cannot be reached now; retrying later may
	// succeed.
	ErrUnavailable = errors.New("regstore: store unavailable")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("regstore: store closed")
)

// Reasons carried by [Change.Reason] and the registry's REMOVED events.
const (
	ReasonDeregistered = "deregistered"
	ReasonExpired      = "expired"
)

// Store persists registrations. Implementations are safe for concurrent use.
// Every returned registration is the caller's to keep and modify.
type Store interface {
	// Put writes reg under reg.AgentId if the stored registration is at
	// revision expect (expect 0: none may exist). The store assigns the
	// new revision, greater than every revision it assigned before, and
	// returns the registration as stored. ErrConflict otherwise.
	Put(ctx context.Context, reg *registryv1.AgentRegistration, expect int64) (*registryv1.AgentRegistration, error)
	// Get returns the registration with this id, or ErrNotFound.
	Get(ctx context.Context, id string) (*registryv1.AgentRegistration, error)
	// Delete removes the registration if it is at revision expect (0: at
	// any revision) and returns it; ErrNotFound if there is none,
	// ErrConflict if it is at another revision. reason is reported to
	// watchers ([ReasonDeregistered], [ReasonExpired]).
	Delete(ctx context.Context, id string, expect int64, reason string) (*registryv1.AgentRegistration, error)
	// List returns every registration, ordered by id.
	List(ctx context.Context) ([]*registryv1.AgentRegistration, error)
	// Expire removes every registration whose expire_time is before now
	// and returns them, reported to watchers with [ReasonExpired]. Several
	// replicas may call it at once; each expired registration is returned
	// by exactly one call.
	Expire(ctx context.Context, now time.Time) ([]*registryv1.AgentRegistration, error)
	// Watch reports every change made from now on by any process sharing
	// the store, in revision order per registration, until ctx ends (the
	// channel is then closed). A watcher that may have missed changes
	// (a lost database connection) gets a Change with Resync set and should
	// reload with List.
	Watch(ctx context.Context) (<-chan Change, error)
	// Ping reports whether the store can be reached now.
	Ping(ctx context.Context) error
	// Close releases the store. Watch channels are closed.
	Close() error
}

// Change is one write seen by [Store.Watch].
type Change struct {
	// ID of the registration that changed ("" with Resync).
	ID string
	// Reg is the registration after the change; nil when it was removed.
	Reg *registryv1.AgentRegistration
	// Removed is the registration as it was when removed (with Reason).
	Removed *registryv1.AgentRegistration
	// Reason a registration was removed: ReasonDeregistered or
	// ReasonExpired.
	Reason string
	// Resync: changes may have been missed; reload everything with List.
	Resync bool
}
