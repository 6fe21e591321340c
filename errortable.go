package a2agrpc

import (
	"net/http"

	"google.golang.org/grpc/codes"
)

// Reason is the google.rpc.ErrorInfo reason of an error. Clients classify
// errors by reason, never by status code alone, because several reasons share
// one code.
type Reason string

// The A2A v1.0 error reasons (specification section on error handling).
const (
	ReasonTaskNotFound                   Reason = "TASK_NOT_FOUND"
	ReasonTaskNotCancelable              Reason = "TASK_NOT_CANCELABLE"
	ReasonPushNotificationNotSupported   Reason = "PUSH_NOTIFICATION_NOT_SUPPORTED"
	ReasonUnsupportedOperation           Reason = "UNSUPPORTED_OPERATION"
	ReasonContentTypeNotSupported        Reason = "CONTENT_TYPE_NOT_SUPPORTED"
	ReasonInvalidAgentResponse           Reason = "INVALID_AGENT_RESPONSE"
	ReasonExtendedAgentCardNotConfigured Reason = "EXTENDED_AGENT_CARD_NOT_CONFIGURED"
	ReasonExtensionSupportRequired       Reason = "EXTENSION_SUPPORT_REQUIRED"
	ReasonVersionNotSupported            Reason = "VERSION_NOT_SUPPORTED"
)

// Generic reasons for failures the A2A specification does not name. The
// spellings are the ones other A2A SDKs (a2a-go) use, so peers classify them
// alike.
const (
	ReasonParseError        Reason = "PARSE_ERROR"
	ReasonInvalidRequest    Reason = "INVALID_REQUEST"
	ReasonMethodNotFound    Reason = "METHOD_NOT_FOUND"
	ReasonInvalidParams     Reason = "INVALID_PARAMS"
	ReasonInternal          Reason = "INTERNAL_ERROR"
	ReasonUnauthenticated   Reason = "UNAUTHENTICATED"
	ReasonUnauthorized      Reason = "UNAUTHORIZED"
	ReasonResourceExhausted Reason = "RESOURCE_EXHAUSTED"
	ReasonUnavailable       Reason = "UNAVAILABLE"
	ReasonDeadlineExceeded  Reason = "DEADLINE_EXCEEDED"
	ReasonCanceled          Reason = "CANCELED"
)

// Reasons of the a2agrpc discovery registry (package registry), an
// extension of A2A: its errors travel in the same ErrorInfo domain, so one
// client classifies both.
const (
	// ReasonAgentNotFound: no live registration has the agent_id (it never
	// existed, was deregistered, or its lease expired); an agent that gets
	// it on a heartbeat registers again.
	ReasonAgentNotFound Reason = "AGENT_NOT_FOUND"
)

// ErrAgentNotFound matches (errors.Is) every AGENT_NOT_FOUND error.
var ErrAgentNotFound = sentinel(ReasonAgentNotFound)

// mapping is how one reason appears on each binding.
type mapping struct {
	grpc    codes.Code
	http    int
	jsonrpc int
	message string // default message when none is given
}

// errorTable is the one place that decides status codes for every binding.
// The A2A rows follow the v1.0.1 table, whose HTTP column equals the standard
// gRPC-to-HTTP mapping; peers built on a2a-go v2 accept a reason only together
// with these gRPC codes. JSON-RPC codes for the generic rows come from
// JSON-RPC 2.0; the auth codes are the ones a2a-go uses (A2A assigns none).
var errorTable = map[Reason]mapping{
	ReasonTaskNotFound:                   {codes.NotFound, http.StatusNotFound, -32001, "task not found"},
	ReasonTaskNotCancelable:              {codes.FailedPrecondition, http.StatusBadRequest, -32002, "task cannot be canceled"},
	ReasonPushNotificationNotSupported:   {codes.FailedPrecondition, http.StatusBadRequest, -32003, "push notifications are not supported"},
	ReasonUnsupportedOperation:           {codes.FailedPrecondition, http.StatusBadRequest, -32004, "operation not supported"},
	ReasonContentTypeNotSupported:        {codes.InvalidArgument, http.StatusBadRequest, -32005, "content type not supported"},
	ReasonInvalidAgentResponse:           {codes.Internal, http.StatusInternalServerError, -32006, "invalid agent response"},
	ReasonExtendedAgentCardNotConfigured: {codes.FailedPrecondition, http.StatusBadRequest, -32007, "extended agent card not configured"},
	ReasonExtensionSupportRequired:       {codes.FailedPrecondition, http.StatusBadRequest, -32008, "extension support required"},
	ReasonVersionNotSupported:            {codes.FailedPrecondition, http.StatusBadRequest, -32009, "protocol version not supported"},

	ReasonParseError:        {codes.InvalidArgument, http.StatusBadRequest, -32700, "parse error"},
	ReasonInvalidRequest:    {codes.InvalidArgument, http.StatusBadRequest, -32600, "invalid request"},
	ReasonMethodNotFound:    {codes.Unimplemented, http.StatusNotFound, -32601, "method not found"},
	ReasonInvalidParams:     {codes.InvalidArgument, http.StatusBadRequest, -32602, "invalid params"},
	ReasonInternal:          {codes.Internal, http.StatusInternalServerError, -32603, "internal error"},
	ReasonUnauthenticated:   {codes.Unauthenticated, http.StatusUnauthorized, -31401, "unauthenticated"},
	ReasonUnauthorized:      {codes.PermissionDenied, http.StatusForbidden, -31403, "permission denied"},
	ReasonResourceExhausted: {codes.ResourceExhausted, http.StatusTooManyRequests, -32603, "resource exhausted"},
	ReasonUnavailable:       {codes.Unavailable, http.StatusServiceUnavailable, -32603, "service unavailable"},
	ReasonDeadlineExceeded:  {codes.DeadlineExceeded, http.StatusGatewayTimeout, -32603, "deadline exceeded"},
	ReasonCanceled:          {codes.Canceled, 499, -32603, "request canceled"},

	// The registry's rows take JSON-RPC codes next to the auth ones, in the
	// -314xx block this module assigns (the HTTP status as the last digits).
	ReasonAgentNotFound: {codes.NotFound, http.StatusNotFound, -31404, "agent not registered"},
}

// reasonByJSONRPC and reasonByGRPC classify errors from peers that sent no
// ErrorInfo. Only unambiguous codes are listed.
var (
	reasonByJSONRPC = map[int]Reason{}
	reasonByGRPC    = map[codes.Code]Reason{
		codes.NotFound:          ReasonTaskNotFound,
		codes.InvalidArgument:   ReasonInvalidParams,
		codes.Unimplemented:     ReasonUnsupportedOperation,
		codes.Internal:          ReasonInternal,
		codes.Unknown:           ReasonInternal,
		codes.DataLoss:          ReasonInternal,
		codes.Unauthenticated:   ReasonUnauthenticated,
		codes.PermissionDenied:  ReasonUnauthorized,
		codes.ResourceExhausted: ReasonResourceExhausted,
		codes.Unavailable:       ReasonUnavailable,
		codes.DeadlineExceeded:  ReasonDeadlineExceeded,
		codes.Canceled:          ReasonCanceled,
	}
)

func init() {
	for r, m := range errorTable {
		if m.jsonrpc != -32603 || r == ReasonInternal {
			reasonByJSONRPC[m.jsonrpc] = r
		}
	}
}

// Reasons returns every reason this module knows, for tests and docs.
func Reasons() []Reason {
	out := make([]Reason, 0, len(errorTable))
	for r := range errorTable {
		out = append(out, r)
	}
	return out
}

func lookup(r Reason) mapping {
	if m, ok := errorTable[r]; ok {
		return m
	}
	return errorTable[ReasonInternal]
}
