package httpserver

import (
	"net/http"
	"strings"
)

// OnePort returns a handler that serves gRPC and HTTP on one port: HTTP/2
// requests with a gRPC content type go to grpcHandler (a grpc.Server, whose
// ServeHTTP implements the gRPC protocol over net/http), everything else to
// web. Serve it from an http.Server whose Protocols enable HTTP/1 and
// unencrypted HTTP/2 (or HTTP/2 over TLS).
//
// The trade-off, measured in BENCHMARKS.md: one port to expose and one TLS
// configuration, but gRPC through net/http is markedly slower than
// grpc.Server's own transport, and the transport settings of grpcserver (
// keepalive, stream and connection limits) do not apply — net/http's do.
func OnePort(grpcHandler, web http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			grpcHandler.ServeHTTP(w, r)
			return
		}
		web.ServeHTTP(w, r)
	})
}
