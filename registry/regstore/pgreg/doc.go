// Package pgreg is the [regstore.Store] on PostgreSQL, shared by several
// registry replicas.
//
// Writes are single statements with the optimistic revision check in their
// WHERE clause; revisions come from one sequence. Expire deletes with
// RETURNING, so replicas sweeping at once each get disjoint rows.
//
// Every write also logs the change in registry_changes, whose insert
// trigger sends a NOTIFY listing the new rows' keys. Each Store holds one
// dedicated LISTEN connection; on a notification it reads the logged
// changes and broadcasts them to its watchers. The log, not the payload,
// carries the registrations: a NOTIFY payload is limited to 8000 bytes, and
// re-reading registry_agents on receipt would see a later state, or nothing
// after a delete, where watchers need the registration as written or as it
// was removed. Log rows are pruned after [DefaultChangeRetention].
//
// Watchers hear of a write when its notification arrives, shortly after
// the write returns (the memory and SQLite stores deliver before it
// returns), and in commit order.
//
// If the LISTEN connection is lost, the Store reconnects with capped,
// jittered backoff and then sends every watcher a Change{Resync: true}:
// notifications sent meanwhile are lost, so watchers reload with List.
//
// Tables live in the first schema of the connection's search_path, or in
// the one [WithSchema] names. The schema is migrated by Open, under an
// advisory lock so that replicas starting together take turns, and the
// applied migrations are recorded in registry_schema_migrations (not
// schema_migrations, which the task store uses).
package pgreg
