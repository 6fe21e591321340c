package client

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/propagation"

	"github.com/a2agrpc/a2agrpc"
)

type callExtensionsKey struct{}

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
			h[a2agrpc.HeaderExtensions] = strings.Join(dedupe(ext), ",")
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
		return h, nil
	}
}

func dedupe(items []string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" && !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}
