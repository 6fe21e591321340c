package client

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/propagation"

	"github.com/a2agrpc/a2agrpc"
)

type (
	callExtensionsKey struct{}
	callHeadersKey    struct{}
)

// WithCallHeaders returns ctx sending these headers (gRPC metadata) with
// the calls made with it, over what the client would send: a gateway uses
// it to pass a caller's Authorization, API key, A2A-Version or trace
// context on to the agent behind it. The mesh transport reads headers once
// per stream, so per-call headers need another transport.
func WithCallHeaders(ctx context.Context, h map[string]string) context.Context {
	prev, _ := ctx.Value(callHeadersKey{}).(map[string]string)
	merged := make(map[string]string, len(prev)+len(h))
	for k, v := range prev {
		merged[k] = v
	}
	for k, v := range h {
		merged[k] = v
	}
	return context.WithValue(ctx, callHeadersKey{}, merged)
}

// WithCallExtensions returns ctx asking the agent to activate these
// extensions for the calls made with it, in addition to those of
// [WithExtensions].
func WithCallExtensions(ctx context.Context, uris ...string) context.Context {
	prev, _ := ctx.Value(callExtensionsKey{}).([]string)
	return context.WithValue(ctx, callExtensionsKey{}, append(slices.Clone(prev), uris...))
}

// traceContext is W3C Trace Context (traceparent, tracestate). It is used
// whatever propagator the application registered globally, so a trace
// crosses agents even in programs that never configured OpenTelemetry
// propagation; without a span in the context it writes nothing.
var traceContext = propagation.TraceContext{}

// headerSource builds the service parameters of each call: the same on
// every transport, so that an agent sees the same caller whichever binding
// the client picked.
func headerSource(cfg *config) func(context.Context) (map[string]string, error) {
	return func(ctx context.Context) (map[string]string, error) {
		h := map[string]string{a2agrpc.HeaderVersion: a2agrpc.ProtocolVersion}
		ext := cfg.extensions
		if more, _ := ctx.Value(callExtensionsKey{}).([]string); len(more) > 0 {
			ext = append(slices.Clone(ext), more...)
		}
		if len(ext) > 0 {
			h[a2agrpc.HeaderExtensions] = strings.Join(a2agrpc.SplitList(ext...), ",")
		}
		if cfg.tokens != nil {
			tok, err := cfg.tokens.Token()
			if err != nil {
				return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "client: getting a token: "+err.Error()).WithCause(err)
			}
			h["Authorization"] = fmt.Sprintf("%s %s", tok.Type(), tok.AccessToken)
		}
		if cfg.apiKey != "" {
			h[cfg.apiKeyHeader] = cfg.apiKey
		}
		traceContext.Inject(ctx, propagation.MapCarrier(h))
		if fwd, _ := ctx.Value(callHeadersKey{}).(map[string]string); len(fwd) > 0 {
			for k := range h { // a forwarded header replaces ours whatever its case
				if _, ok := lookupFold(fwd, k); ok {
					delete(h, k)
				}
			}
			for k, v := range fwd {
				h[k] = v
			}
		}
		return h, nil
	}
}

func lookupFold(m map[string]string, key string) (string, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}
