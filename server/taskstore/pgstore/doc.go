// Package pgstore is the PostgreSQL [taskstore.Store]: durable, and shared
// by any number of server replicas.
//
// It implements every optional interface of the taskstore package, which is
// what sharing needs: [taskstore.Outbox] (push notifications queued in the
// same statement as the event, claimed by whichever replica gets there
// first), [taskstore.Watcher] (LISTEN/NOTIFY, so a replica can stream a task
// another one runs) and [taskstore.Reaper] (runner leases, so the tasks of a
// replica that died are failed rather than left WORKING forever).
//
// Open applies the embedded schema migrations itself, under an advisory
// lock, so replicas can start together against an empty database. Failures
// to reach the database are reported as [taskstore.ErrUnavailable], which
// the server answers with a retryable status; the connection pool recovers
// by itself when the database is back.
package pgstore
