package registry

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/sse"
	"github.com/a2agrpc/a2agrpc/server/calllog"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// WatchPath is the REST route of WatchAgents: Server-Sent Events, one
// "data:" line of ProtoJSON WatchAgentsResponse per event, the filter in
// the query (filter.skillId=…&filter.tag=…). A failure after the stream
// started is an "event: error" whose data is the AIP-193 body.
const WatchPath = "/v1/agents:watch"

// maxRESTBody bounds request bodies: a registration is a card and a few
// labels, far below this.
const maxRESTBody = 1 << 20

// newHTTPHandler serves the RegistryService as REST through grpc-gateway,
// in process, plus WatchAgents as SSE (the in-process gateway cannot serve
// a server stream). Errors have the AIP-193 shape of the A2A HTTP binding.
// With authn, every route is authenticated as the gRPC side is.
func newHTTPHandler(svc *Service, authn *auth.Authenticator, logger *slog.Logger, keepAlive time.Duration) (http.Handler, error) {
	json := &runtime.JSONPb{MarshalOptions: a2ajson.MarshalOptions, UnmarshalOptions: a2ajson.UnmarshalOptions}
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, json),
		runtime.WithErrorHandler(httpserver.GatewayError),
		runtime.WithRoutingErrorHandler(httpserver.RoutingError),
		// Identity comes from the request's context (the auth middleware),
		// never from headers turned into metadata.
		runtime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
	)
	if err := registryv1.RegisterRegistryServiceHandlerServer(context.Background(), mux, svc); err != nil {
		return nil, err
	}
	// Registered after the generated routes, so it takes precedence over
	// the generated WatchAgents route, which only answers UNIMPLEMENTED.
	if err := mux.HandlePath(http.MethodGet, WatchPath, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		serveWatch(svc, keepAlive, w, r)
	}); err != nil {
		return nil, err
	}
	h := guard(authn, mux)
	if logger != nil {
		h = calllog.HTTP(logger, h)
	}
	return h, nil
}

// guard authenticates the request (when authn is set), bounds its body and
// turns a panic below into a 500 in the A2A shape.
func guard(authn *auth.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				httpserver.WriteError(w, a2agrpc.NewError(a2agrpc.ReasonInternal, ""))
			}
		}()
		if authn != nil {
			ctx, err := authn.HTTP(w, r)
			if err != nil {
				httpserver.WriteError(w, err)
				return
			}
			r = r.WithContext(ctx)
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRESTBody)
		next.ServeHTTP(w, r)
	})
}

// serveWatch serves GET /v1/agents:watch. A watch that cannot open is an
// ordinary error response; once events flow, the end of the stream is an
// error event (UNAVAILABLE when the registry shuts down or the client fell
// behind: watch again).
func serveWatch(svc *Service, keepAlive time.Duration, w http.ResponseWriter, r *http.Request) {
	req := &registryv1.WatchAgentsRequest{}
	if err := runtime.PopulateQueryParameters(req, r.URL.Query(), utilities.NewDoubleArray(nil)); err != nil {
		httpserver.WriteError(w, a2agrpc.Errorf(a2agrpc.ReasonInvalidParams, "invalid query: %v", err))
		return
	}
	var out *sse.Writer
	send := func(ev *registryv1.WatchAgentsResponse) error {
		data, err := a2ajson.Marshal(ev)
		if err != nil {
			return err
		}
		if out == nil {
			out = sse.Start(w, keepAlive)
		}
		return out.Event("", "", data)
	}
	err := svc.watch(r.Context(), req.GetFilter(), send)
	if out == nil {
		httpserver.WriteError(w, err)
		return
	}
	defer out.Close()
	// An error event unless the client itself went away; the request's
	// context also ends when the authenticator ends the stream (credential
	// expired), and that the client must be told.
	var e *a2agrpc.Error
	if err != nil && (r.Context().Err() == nil || errors.As(context.Cause(r.Context()), &e)) {
		_ = out.Event("", "error", httpserver.ErrorBody(err))
	}
}
