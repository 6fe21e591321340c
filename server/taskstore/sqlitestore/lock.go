package sqlitestore

import "errors"

// ErrLocked is returned by [Open] when another process (or another Store
// of this process) already has the database file open.
var ErrLocked = errors.New("sqlitestore: database is in use by another process")

// The lock is an OS lock on a sidecar file rather than SQLite's own
// locking_mode=EXCLUSIVE: the exclusive locking mode would also shut out
// this process's own read connections, which is what lets reads run in
// parallel with the writer. The sidecar is never deleted — removing it
// while another process waits to lock it would let two processes each lock
// a different file of the same name.
func lockPath(dbPath string) string { return dbPath + ".lock" }
