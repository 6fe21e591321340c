// Package sqlitereg is the registry's embedded, durable [regstore.Store]:
// registrations live in one SQLite file, so a single registry keeps them
// across restarts with nothing else installed. It uses the pure-Go
// modernc.org/sqlite driver, so binaries stay cgo-free.
//
// The store is single-process by design. Watch is an in-process broadcast
// of this process's own writes, so a second process writing the same file
// would make watchers miss its changes. Open therefore holds the file
// exclusively (SQLite's EXCLUSIVE locking mode, a lock the operating system
// drops when the process dies) and fails with [ErrLocked] if another Store,
// in this process or another, has it. Registries that need several replicas
// use the PostgreSQL store.
//
// Registry writes are rare (registrations, heartbeats, health changes), so
// the store is deliberately simple: one connection, every operation in
// turn under one mutex, which also orders the changes watchers see.
package sqlitereg
