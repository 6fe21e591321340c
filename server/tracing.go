package server

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

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

func newTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return tp.Tracer(tracerName)
}

// startSpan opens the execution's span; finish ends it.
func (e *execution) startSpan() {
	_, e.span = e.h.tracer.Start(e.ctx, spanExecute, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrTaskID.String(e.req.TaskID), attrContextID.String(e.req.ContextID)))
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
	if state == a2av1.TaskState_TASK_STATE_FAILED || execErr != nil {
		msg := "the task failed"
		if execErr != nil {
			msg = execErr.Error()
		}
		e.span.SetStatus(codes.Error, msg)
	}
	e.span.End()
}
