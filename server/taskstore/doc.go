// Package taskstore defines where an A2A server keeps its tasks, their event
// logs and their push-notification configs, and provides the in-memory
// implementation.
//
// The [Store] contract is shaped for durable backends too (SQLite,
// PostgreSQL): every update is a versioned compare-and-set, and each update
// that streams an event appends it to an ordered per-task log whose sequence
// numbers equal the task versions, so a client can resume a stream from the
// last sequence number it saw. The package storetest holds the conformance
// suite every backend must pass.
package taskstore
