// Package grpcserver serves a [server.Handler] over gRPC: the standard
// lf.a2a.v1.A2AService and the a2agrpc mesh extension (one bidirectional
// stream multiplexing many A2A operations), with production defaults —
// keepalive enforcement, message-size and connection limits, the
// grpc.health.v1 service, server reflection, and a graceful stop that ends
// long-lived streams with a clean UNAVAILABLE status.
//
//	h, _ := server.NewHandler(agent, server.WithAgentCard(card))
//	srv, _ := grpcserver.New(h)
//	go srv.Serve(lis)
//	defer srv.Shutdown(ctx)
package grpcserver
