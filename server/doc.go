// Package server is the transport-neutral A2A v1.0 engine: it runs an
// [Executor] (the agent) and implements the eleven A2A operations on top of
// a [taskstore.Store]. Every binding — gRPC, the mesh stream, REST/SSE and
// JSON-RPC — calls the same [Handler], so behaviour is identical everywhere.
//
// An agent is a function that receives the request and writes events:
//
//	exec := server.ExecutorFunc(func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
//		w.Working("thinking")
//		w.Artifact(server.TextArtifact("answer", "you said: "+req.Text()))
//		return nil // returning nil completes the task
//	})
//	h, err := server.NewHandler(exec, server.WithAgentCard(card))
//
// The framework owns the task: it creates it, keeps its status, artifacts and
// history, persists every change, fans events out to every stream, and
// answers blocking sends when the task finishes or needs the caller again.
package server
