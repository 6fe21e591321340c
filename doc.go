// Package a2agrpc is a Go implementation of the Agent2Agent (A2A) protocol
// v1.0 centred on its gRPC binding, with the HTTP+JSON (REST and SSE) and
// JSON-RPC bindings served from the same gRPC service through grpc-gateway.
//
// The protocol messages are the generated types in
// [github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1] (package a2av1), built from
// proto/lf/a2a/v1/a2a.proto, which is wire-identical to the A2A project's
// normative schema. The root package holds what every binding shares: the
// protocol constants and, as the server lands, the error model.
package a2agrpc
