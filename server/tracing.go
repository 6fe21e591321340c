package server

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// WithTracerProvider records a span for every agent execution (default:
// none). The span is a child of the call that started the task — the
// binding's server span when the bindings trace too — and the agent's
// context carries it, so calls the agent makes to other agents through the
// a2agrpc client continue the same trace. Its events are the task's status
// changes; it ends when the execution does, with the state it left the task
// in.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracer = tp }
}

// tracerName is the instrumentation scope of the handler's spans.
const tracerName = "github.com/a2agrpc/a2agrpc/server"

// Span and attribute names of the task lifecycle.
const (
	spanExecute        = "a2a.task.execute"
	attrTaskID         = attribute.Key("a2a.task.id")
	attrContextID      = attribute.Key("a2a.context.id")
	attrTaskState      = attribute.Key("a2a.task.state")
	eventStatusChanged = "a2a.task.status"
)

// newTracer returns nil without a provider: then executions start no span
// at all and the agent's context keeps whatever span the caller's had.
func newTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return nil
	}
	return tp.Tracer(tracerName)
}

// startSpan opens the execution's span (finish ends it). It runs under
// e.mu: a cancel may record a status change on the span at any time.
func (e *execution) startSpan() {
	if e.h.tracer == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, e.span = e.h.tracer.Start(e.ctx, spanExecute, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrTaskID.String(e.req.TaskID), attrContextID.String(e.req.ContextID)))
}

// agentContext is the context the agent runs with: carrying the
// execution's span when there is one.
func (e *execution) agentContext() context.Context {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.span == nil {
		return e.ctx
	}
	return trace.ContextWithSpan(e.ctx, e.span)
}

// traceStatus records a status change on the execution's span.
func (e *execution) traceStatus(state a2av1.TaskState) {
	if e.span != nil && e.span.IsRecording() {
		e.span.AddEvent(eventStatusChanged, trace.WithAttributes(attrTaskState.String(stateLabel(state))))
	}
}

// endSpan closes the execution's span with the task's final state; a
// failed task marks the span as an error.
func (e *execution) endSpan(execErr error) {
	if e.span == nil {
		return
	}
	state := e.task.GetStatus().GetState()
	e.span.SetAttributes(attrTaskState.String(stateLabel(state)))
	// A failed task is an error; an agent that stopped because the task was
	// canceled or the server shut down is not. The agent's error text stays
	// out of the span: traces leave the process.
	if state == a2av1.TaskState_TASK_STATE_FAILED || execErr != nil && !errors.Is(execErr, context.Canceled) && state != a2av1.TaskState_TASK_STATE_CANCELED {
		e.span.SetStatus(codes.Error, "the task failed")
	}
	e.span.End()
}
