package a2agrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Error is an A2A error: a reason from the error table plus a human-readable
// message and optional metadata. It converts itself to every binding's shape
// (gRPC status with ErrorInfo, HTTP status, JSON-RPC code), so handlers return
// it and never pick a status code themselves.
//
// errors.Is matches two *Error values by reason, so
// errors.Is(err, ErrTaskNotFound) holds for any task-not-found error, whether
// it was made locally or decoded from a peer.
type Error struct {
	// Reason classifies the error; it selects the codes on every binding.
	Reason Reason
	// Message is shown to the caller. It must not reveal internals.
	Message string
	// Metadata becomes google.rpc.ErrorInfo.metadata (e.g. "taskId").
	Metadata map[string]string
	// Violations name the request fields that were invalid; sent as a
	// google.rpc.BadRequest detail on gRPC.
	Violations []FieldViolation
	// RetryAfter, when positive, is how long the caller should wait before
	// trying again (rate limits): a google.rpc.RetryInfo detail on gRPC and
	// the Retry-After header on HTTP.
	RetryAfter time.Duration
	cause      error
}

// FieldViolation names one invalid request field, in its ProtoJSON spelling
// (e.g. "message.parts").
type FieldViolation struct {
	Field       string
	Description string
}

// Sentinels for errors.Is. Each carries only its reason and default message.
var (
	ErrTaskNotFound                   = sentinel(ReasonTaskNotFound)
	ErrTaskNotCancelable              = sentinel(ReasonTaskNotCancelable)
	ErrPushNotificationNotSupported   = sentinel(ReasonPushNotificationNotSupported)
	ErrUnsupportedOperation           = sentinel(ReasonUnsupportedOperation)
	ErrContentTypeNotSupported        = sentinel(ReasonContentTypeNotSupported)
	ErrInvalidAgentResponse           = sentinel(ReasonInvalidAgentResponse)
	ErrExtendedAgentCardNotConfigured = sentinel(ReasonExtendedAgentCardNotConfigured)
	ErrExtensionSupportRequired       = sentinel(ReasonExtensionSupportRequired)
	ErrVersionNotSupported            = sentinel(ReasonVersionNotSupported)
	ErrParse                          = sentinel(ReasonParseError)
	ErrInvalidRequest                 = sentinel(ReasonInvalidRequest)
	ErrMethodNotFound                 = sentinel(ReasonMethodNotFound)
	ErrInvalidParams                  = sentinel(ReasonInvalidParams)
	ErrInternal                       = sentinel(ReasonInternal)
	ErrUnauthenticated                = sentinel(ReasonUnauthenticated)
	ErrUnauthorized                   = sentinel(ReasonUnauthorized)
	ErrResourceExhausted              = sentinel(ReasonResourceExhausted)
	ErrUnavailable                    = sentinel(ReasonUnavailable)
)

func sentinel(r Reason) *Error { return &Error{Reason: r, Message: lookup(r).message} }

// NewError returns an error with the given reason; an empty message takes the
// reason's default.
func NewError(r Reason, message string) *Error {
	if message == "" {
		message = lookup(r).message
	}
	return &Error{Reason: r, Message: message}
}

// Errorf is NewError with a formatted message.
func Errorf(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Message: fmt.Sprintf(format, args...)}
}

// InvalidParams reports one invalid request field. field uses the ProtoJSON
// path of the field (e.g. "message.messageId") and is repeated in the message
// and in ErrorInfo.metadata["field"], so every binding names it.
func InvalidParams(field, format string, args ...any) *Error {
	desc := fmt.Sprintf(format, args...)
	return &Error{
		Reason:     ReasonInvalidParams,
		Message:    fmt.Sprintf("invalid %s: %s", field, desc),
		Metadata:   map[string]string{"field": field},
		Violations: []FieldViolation{{Field: field, Description: desc}},
	}
}

// WithMeta returns a copy of e with one more metadata entry.
func (e *Error) WithMeta(key, value string) *Error {
	c := *e
	c.Metadata = make(map[string]string, len(e.Metadata)+1)
	for k, v := range e.Metadata {
		c.Metadata[k] = v
	}
	c.Metadata[key] = value
	return &c
}

// WithRetryAfter returns a copy of e telling the caller to wait d before
// trying again.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// WithCause returns a copy of e that wraps cause for logging; the cause is
// never sent to the caller.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Reason, e.Message, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Message)
}

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same reason.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason
}

// GRPCCode is the gRPC status code of the error.
func (e *Error) GRPCCode() codes.Code { return lookup(e.Reason).grpc }

// HTTPStatus is the HTTP status code of the error on the HTTP+JSON binding.
func (e *Error) HTTPStatus() int { return lookup(e.Reason).http }

// JSONRPCCode is the JSON-RPC 2.0 error code of the error.
func (e *Error) JSONRPCCode() int { return lookup(e.Reason).jsonrpc }

// ErrorInfo is the google.rpc.ErrorInfo detail every binding carries.
func (e *Error) ErrorInfo() *errdetails.ErrorInfo {
	return &errdetails.ErrorInfo{Reason: string(e.Reason), Domain: ErrorDomain, Metadata: e.Metadata}
}

// GRPCStatus makes *Error usable wherever gRPC expects a status: the code
// from the table, the message, ErrorInfo and, for invalid fields, BadRequest.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.GRPCCode(), e.Message)
	if withInfo, err := st.WithDetails(e.ErrorInfo()); err == nil {
		st = withInfo
	}
	if len(e.Violations) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range e.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		}
		if withBR, err := st.WithDetails(br); err == nil {
			st = withBR
		}
	}
	if e.RetryAfter > 0 {
		if withRI, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)}); err == nil {
			st = withRI
		}
	}
	return st
}

// AsError converts any error into an *Error:
//   - an *Error (or one wrapped) is returned as is;
//   - a gRPC status is classified by its ErrorInfo reason, else by its code;
//   - context cancellation and deadline errors keep their meaning;
//   - anything else becomes INTERNAL_ERROR with a generic message, the
//     original kept as the cause so it is logged but never sent.
//
// AsError(nil) is nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, context.Canceled):
		return NewError(ReasonCanceled, "").WithCause(err)
	case errors.Is(err, context.DeadlineExceeded):
		return NewError(ReasonDeadlineExceeded, "").WithCause(err)
	}
	if st, ok := status.FromError(err); ok {
		return FromStatus(st)
	}
	return NewError(ReasonInternal, "").WithCause(err)
}

// FromStatus decodes a gRPC status received from a peer. The reason comes
// from an ErrorInfo in the A2A domain when present, otherwise from the code.
func FromStatus(st *status.Status) *Error {
	if st == nil || st.Code() == codes.OK {
		return nil
	}
	e := &Error{Message: st.Message()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() == ErrorDomain && e.Reason == "" {
				e.Reason = Reason(d.GetReason())
				e.Metadata = d.GetMetadata()
			}
		case *errdetails.RetryInfo:
			e.RetryAfter = d.GetRetryDelay().AsDuration()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.Violations = append(e.Violations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	if e.Reason == "" {
		if r, ok := reasonByGRPC[st.Code()]; ok {
			e.Reason = r
		} else {
			e.Reason = ReasonInternal
		}
	}
	return e
}

// ReasonForJSONRPCCode classifies a JSON-RPC error code from a peer that sent
// no ErrorInfo. Unknown codes map to INTERNAL_ERROR.
func ReasonForJSONRPCCode(code int) Reason {
	if r, ok := reasonByJSONRPC[code]; ok {
		return r
	}
	return ReasonInternal
}
