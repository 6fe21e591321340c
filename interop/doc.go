// Package interop runs third-party A2A clients against the a2agrpc server.
//
// It is its own Go module because the official a2a-go SDK registers the same
// lf.a2a.v1 protobuf names as a2agrpc's generated package: the two can never
// be linked into one binary. The tests therefore build `a2agrpc` from the
// parent module, start `a2agrpc serve` as a separate process on free
// loopback ports, and talk to it over the network only.
package interop
