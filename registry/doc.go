// Package registry is the a2agrpc discovery registry: agents announce
// their Agent Cards, keep their registrations alive, and callers find
// them by what they can do (proto package a2agrpc.registry.v1).
//
// The pieces:
//
//   - [Service] implements the RegistryService over a regstore.Store
//     (in memory, SQLite, or PostgreSQL shared by several replicas). A
//     registration is a lease: it expires unless renewed by heartbeats
//     or, for agents registered by card_url, by passing active health
//     probes ([WithProbes]). Signed cards are verified against trusted
//     keys ([WithCardKeys]). Searches and watches are answered from the
//     replica's view of the store, matched by package agentfilter.
//   - [Start] serves a Service on real listeners: gRPC (with
//     grpc.health.v1 and reflection) and REST through grpc-gateway, the
//     watch as Server-Sent Events at [WatchPath], both behind the same
//     auth.Authenticator. `a2agrpc registry` runs it.
//   - [Client] calls a registry; [Keep] holds a registration for as long
//     as an agent runs, and [SelfRegister] plugs that into
//     server/host.Config.Register, so an agent served by host registers
//     on start and deregisters on shutdown.
//
// Errors follow the A2A error model: an *a2agrpc.Error, a gRPC status with
// ErrorInfo, the AIP-193 body over HTTP. An unknown or expired agent_id is
// AGENT_NOT_FOUND (a2agrpc.ErrAgentNotFound); a write to another
// principal's registration PERMISSION_DENIED.
package registry
