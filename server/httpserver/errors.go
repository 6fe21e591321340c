package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/a2agrpc/a2agrpc"
)

// errorBody is the AIP-193 shape: {"error":{code,status,message,details}}
// with the HTTP status as code and the gRPC code name as status.
type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Code    int               `json:"code"`
	Status  string            `json:"status"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// body renders e as AIP-193 JSON, with its ErrorInfo (and BadRequest, if
// any) as details.
func body(e *a2agrpc.Error, httpStatus int) []byte {
	st := e.GRPCStatus().Proto()
	fields := errorFields{Code: httpStatus, Status: code.Code(st.GetCode()).String(), Message: e.Message}
	for _, d := range st.GetDetails() {
		if raw, err := protojson.Marshal(d); err == nil {
			fields.Details = append(fields.Details, raw)
		}
	}
	b, _ := json.Marshal(errorBody{Error: fields})
	return b
}

// writeError writes err as an A2A error response: the HTTP status from the
// error table, application/json (some clients only decode error bodies of
// that type).
func writeError(w http.ResponseWriter, err error) {
	e := classify(err)
	status := e.HTTPStatus()
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || strings.Contains(e.Message, "request body too large") {
		status = http.StatusRequestEntityTooLarge
	}
	writeErrorStatus(w, e, status)
}

func writeErrorStatus(w http.ResponseWriter, e *a2agrpc.Error, httpStatus int) {
	w.Header().Set("Content-Type", a2agrpc.MediaTypeJSON)
	setRetryAfter(w, e, httpStatus)
	w.Header().Del("Content-Length")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body(e, httpStatus))
}

// classify turns gateway and handler errors into A2A errors. Errors the
// gateway makes while decoding a request carry no ErrorInfo: malformed JSON
// becomes PARSE_ERROR, a value of the wrong type INVALID_PARAMS (protojson's
// message names the field).
func classify(err error) *a2agrpc.Error {
	var e *a2agrpc.Error
	if errors.As(err, &e) {
		return e
	}
	st, ok := status.FromError(err)
	if !ok {
		return a2agrpc.AsError(err)
	}
	e = a2agrpc.FromStatus(st)
	if e.Metadata == nil && e.Reason == a2agrpc.ReasonInvalidParams && malformedJSON(st.Message()) {
		e.Reason = a2agrpc.ReasonParseError
		e.Message = "request body is not valid JSON: " + st.Message()
	}
	return e
}

// malformedJSON tells, from a JSON decoder's error message, a body that is
// not JSON at all from one with a wrong value. It is the one place that
// rule lives for the gateway's errors and ours.
func malformedJSON(msg string) bool {
	for _, sign := range []string{"syntax error", "unexpected token", "unexpected EOF", "invalid character"} {
		if strings.Contains(msg, sign) {
			return true
		}
	}
	return false
}

// gatewayError is grpc-gateway's error hook.
func gatewayError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	writeError(w, err)
}

// routingError answers requests no route matches: 404 for unknown paths,
// 405 for a known path with the wrong method, both in the A2A shape.
func routingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	e := a2agrpc.Errorf(a2agrpc.ReasonMethodNotFound, "no A2A operation at %s %s", r.Method, r.URL.Path)
	if httpStatus == http.StatusMethodNotAllowed {
		e = a2agrpc.Errorf(a2agrpc.ReasonMethodNotFound, "method %s is not allowed for %s", r.Method, r.URL.Path)
	}
	writeErrorStatus(w, e, httpStatus)
}

// setRetryAfter tells clients of a 429 or 503 when to come back: the
// error's own delay (rate limits know it), else one second.
func setRetryAfter(w http.ResponseWriter, e *a2agrpc.Error, httpStatus int) {
	switch {
	case e.RetryAfter > 0:
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	case httpStatus == http.StatusServiceUnavailable || httpStatus == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	}
}

// WriteError writes err as an AIP-193 error response, with the HTTP status
// of the error table; ErrorBody is that body alone (for an SSE "error"
// event), and GatewayError and RoutingError are grpc-gateway's error hooks
// that write it. They let the module's other HTTP surfaces (the discovery
// registry) answer errors exactly as the A2A binding does.
func WriteError(w http.ResponseWriter, err error) { writeError(w, err) }

// ErrorBody is the AIP-193 body of err (see [WriteError]).
func ErrorBody(err error) []byte {
	e := classify(err)
	return body(e, e.HTTPStatus())
}

// GatewayError is a runtime.ErrorHandlerFunc writing errors with
// [WriteError].
func GatewayError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	gatewayError(ctx, mux, m, w, r, err)
}

// RoutingError is a runtime.RoutingErrorHandlerFunc answering requests no
// route matches: 404, or 405 for a known path with the wrong method.
func RoutingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	routingError(ctx, mux, m, w, r, httpStatus)
}
