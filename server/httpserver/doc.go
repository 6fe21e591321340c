// Package httpserver serves a [server.API] (usually a [server.Handler]; a
// gateway to another agent works too) to HTTP clients: the A2A
// HTTP+JSON binding (REST routes through grpc-gateway, Server-Sent Events
// for the two streaming operations) and the well-known Agent Card.
//
// REST calls use grpc-gateway's in-process registration: no gRPC hop, so
// gRPC interceptors do not run; the same service parameters (A2A-Version,
// A2A-Extensions) reach the handler through this package's middleware.
// Every error is an AIP-193 body carrying a google.rpc.ErrorInfo.
package httpserver
