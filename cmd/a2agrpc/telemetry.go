package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/a2agrpc/a2agrpc/server/calllog"
)

// newLogger builds the server's logger: text or JSON lines on w, from
// level up, with request and trace ids (package calllog).
func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("-log-level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, usageError{fmt.Errorf("-log-format %q: want text or json", format)}
	}
	return slog.New(calllog.Handler(h)), nil
}

// tracingFromEnv sets up OpenTelemetry tracing from the standard OTEL_*
// variables, through the contrib autoexport package, which implements
// their whole contract (OTEL_TRACES_EXPORTER otlp/console/none,
// OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS, …) so we need not.
// Tracing is off (nil provider) unless an exporter or an OTLP endpoint is
// named; OTEL_SDK_DISABLED=true turns it off regardless. The provider is
// also made the global one, with W3C propagation, for agents that trace
// their own work.
func tracingFromEnv(ctx context.Context) (trace.TracerProvider, func(context.Context) error, error) {
	if !tracingWanted(os.Getenv) {
		return nil, func(context.Context) error { return nil }, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	// Defaults first: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// (WithFromEnv) override them.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "a2agrpc"), attribute.String("service.version", buildVersion())),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv())
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp, tp.Shutdown, nil
}

// startTracing is tracingFromEnv for a command: stop flushes the spans
// still buffered (for up to 5 s), reporting a failure on stderr.
func startTracing(ctx context.Context, stderr io.Writer) (trace.TracerProvider, func(), error) {
	tp, shutdown, err := tracingFromEnv(ctx)
	if err != nil {
		return nil, nil, err
	}
	return tp, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			fmt.Fprintln(stderr, "a2agrpc: flushing traces:", err)
		}
	}, nil
}

// tracingWanted reads the environment as [tracingFromEnv] describes.
func tracingWanted(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	if e := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); e != "" {
		return !strings.EqualFold(e, "none")
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}
