// Package interop tests a2agrpc against the other A2A v1.0 implementations:
// the a2a-go v2.4.0 SDK (its clients against our server, and our client
// against its server) and @a2a-js/sdk (its clients against our server), over
// gRPC, HTTP+JSON and JSON-RPC, plus a field-by-field comparison of our
// lf.a2a.v1 schema with a2a-go's copy. Deviations of the other SDKs are
// listed, with the specification section they depart from, in
// expected_failures.yaml; see outcome in expected_test.go.
//
// It is its own Go module because a2a-go registers the same lf.a2a.v1
// protobuf names as a2agrpc's generated package: the two can never be
// linked into one binary. So no program here links both:
//
//   - the tests (package interop) link a2a-go only, and reach our code
//     through processes: `a2agrpc serve` built from the parent module, and
//     the commands below, all on free loopback ports;
//   - cmd/a2agoserver links a2a-go only: a2a-go's server with an echo agent;
//   - cmd/a2agrpcclient and cmd/a2agrpcdescriptor link a2agrpc only (the
//     parent module, through a replace directive): our client running the
//     checks against a2a-go's server, and our schema's descriptor.
//
// The programs are built once per test binary and stopped by PID when the
// test that started them ends.
package interop
