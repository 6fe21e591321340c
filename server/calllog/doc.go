// Package calllog logs the calls an A2A server answers, on every binding,
// the same way: one line when a call finishes, carrying a request id that
// the caller can quote (it is returned as X-Request-Id / x-request-id
// metadata, and taken from the request when the caller sent a sane one) and
// the trace and span ids when the call is traced.
//
// What is never logged, at any level: message bodies, headers and
// metadata (credentials travel there), query strings (API keys may), and
// webhook URLs' paths. Successful calls are logged at debug level, so the
// default info level shows only failures: a busy agent answers tens of
// thousands of calls a second, and its operators read metrics for those.
//
// gRPC calls are logged through go-grpc-middleware's logging interceptor;
// HTTP requests (REST, SSE, JSON-RPC, the Agent Card) through [HTTP].
// [Handler] wraps any slog.Handler so that every record logged with a
// call's context — the server's own, an agent's — carries the same ids.
package calllog
