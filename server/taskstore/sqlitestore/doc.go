// Package sqlitestore is the embedded, durable [taskstore.Store]: tasks,
// their event logs, push configs, queued push notifications and runner
// leases live in one SQLite file, so a single server keeps its tasks across
// restarts with nothing else installed. It uses the pure-Go
// modernc.org/sqlite driver, so binaries stay cgo-free and cross-compile.
//
// The store is single-node by design: one process owns the file (Open
// takes an exclusive lock on a sidecar "<path>.lock" file and fails with
// [ErrLocked] otherwise). That is what makes its simplifications sound:
// all writes go through one connection, queued in the process and
// group-committed, so writers never meet SQLITE_BUSY; an outbox claim
// needs no coordination beyond a transaction; and the runner leases found
// at Open belong to a process that is gone. It implements
// [taskstore.Store], [taskstore.Outbox] and [taskstore.Reaper], but not
// [taskstore.Watcher]: there is no other process to watch.
//
// Reads run in parallel on a pool of read-only connections (WAL mode), and
// the log is checkpointed in the background rather than inside a commit.
// The schema is migrated by Open from SQL files embedded in the binary.
//
// Unlike the in-memory store, event logs are kept after a task becomes
// terminal (until the task itself expires), so a client can resume a stream
// with Last-Event-ID even after a server restart.
package sqlitestore
