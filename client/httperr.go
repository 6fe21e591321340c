package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/a2agrpc/a2agrpc"
)

// The HTTP bindings report errors in three shapes, all decoded here into
// *a2agrpc.Error so that callers classify them the same way whatever the
// binding: AIP-193 bodies on HTTP+JSON (also as the data of an SSE "event:
// error"), JSON-RPC error objects, and whatever a proxy in between answers
// (an HTML 502, a plain-text 429). The reason comes from the ErrorInfo the
// server sent whenever there is one, since several reasons share a status
// code; the codes only stand in when a peer sent none.

// maxSnippet bounds how much of an undecodable error body is quoted in the
// error message: enough to recognise a proxy's page, not enough to flood a
// log.
const maxSnippet = 200

// maxRetryAfterSeconds keeps a hostile Retry-After from overflowing a
// time.Duration.
const maxRetryAfterSeconds = 1 << 31

// detailOptions read google.rpc detail objects leniently: a peer with a
// newer version of a detail type must not lose us the whole error.
var detailOptions = protojson.UnmarshalOptions{DiscardUnknown: true}

// unreachable classifies a failure to complete an HTTP exchange (dial,
// write, read): the caller's own cancellation or deadline keeps its
// meaning, so errors.Is(err, context.Canceled) holds; anything else is
// UNAVAILABLE wrapping the cause, which the Client may retry or resume.
// An *a2agrpc.Error already decided elsewhere passes through.
func unreachable(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return a2agrpc.AsError(ctxErr)
	}
	var e *a2agrpc.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, bufio.ErrTooLong) {
		return a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "an event larger than %d bytes", maxEventSize).WithCause(err)
	}
	return a2agrpc.NewError(a2agrpc.ReasonUnavailable, "").WithCause(err)
}

// httpError decodes a non-2xx response with its (possibly truncated) body:
// an AIP-193 body if there is one, else a classification by the HTTP
// status. A Retry-After header becomes the error's RetryAfter unless the
// body already carried a (more precise) RetryInfo.
func httpError(resp *http.Response, body []byte) error {
	e := decodeErrorBody(resp.StatusCode, body)
	if e.RetryAfter <= 0 {
		if d := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
			e = e.WithRetryAfter(d)
		}
	}
	return e
}

// decodeErrorBody is httpError without the headers: the body's error, or
// one made from the HTTP status and a snippet of the body.
func decodeErrorBody(httpStatus int, body []byte) *a2agrpc.Error {
	if e := decodeStatusBody(httpStatus, body); e != nil {
		return e
	}
	msg := fmt.Sprintf("HTTP %d %s", httpStatus, http.StatusText(httpStatus))
	if s := snippet(body); s != "" {
		msg += ": " + s
	}
	return a2agrpc.NewError(reasonForHTTP(httpStatus, body), msg)
}

// streamError decodes the data of a REST stream's "event: error": an
// AIP-193 body, whose code field is the HTTP status the error would have
// had.
func streamError(data []byte) *a2agrpc.Error {
	if e := decodeStatusBody(0, data); e != nil {
		return e
	}
	return a2agrpc.Errorf(a2agrpc.ReasonInternal, "the stream failed: %s", snippet(data))
}

// statusJSON is the "error" object of an AIP-193 body: a google.rpc.Status
// whose code is the HTTP status, with the gRPC code's name in "status".
// It is read with encoding/json because that "status" field is not part of
// google.rpc.Status; only the details are ProtoJSON.
type statusJSON struct {
	Code    int               `json:"code"`
	Status  string            `json:"status"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// decodeStatusBody decodes an AIP-193 body, or returns nil when body is
// not one. httpStatus is 0 when unknown (SSE error events); the body's
// code then stands in.
func decodeStatusBody(httpStatus int, body []byte) *a2agrpc.Error {
	var env struct {
		Error *statusJSON `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Error == nil {
		return nil
	}
	se := env.Error
	if se.Status == "" && se.Message == "" && se.Code == 0 && len(se.Details) == 0 {
		return nil
	}
	if httpStatus == 0 {
		httpStatus = se.Code
	}
	grpcCode, named := code.Code_value[se.Status]
	if grpcCode == int32(codes.OK) {
		grpcCode, named = int32(codes.Unknown), false
	}
	e, classified := fromDetails(codes.Code(grpcCode), se.Message, se.Details)
	if !classified && !named {
		// Neither ErrorInfo nor a gRPC code name: the HTTP status is all
		// there is to go by.
		e.Reason = reasonForHTTP(httpStatus, []byte(se.Message))
	}
	if e.Message == "" {
		e.Message = http.StatusText(httpStatus)
	}
	return e
}

// rpcErrorObject is a JSON-RPC 2.0 error. data is, since A2A v1.0, an
// array of google.rpc details (ErrorInfo first); v0.3 peers sent a
// free-form object, which carries nothing we can classify by.
type rpcErrorObject struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// rpcError decodes a JSON-RPC error: the reason from the ErrorInfo in data
// when present, else from the error code.
func rpcError(obj *rpcErrorObject) *a2agrpc.Error {
	var details []json.RawMessage
	trimmed := bytes.TrimSpace(obj.Data)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		_ = json.Unmarshal(trimmed, &details) // not an array of values: no details
	case len(trimmed) > 0 && trimmed[0] == '{':
		details = []json.RawMessage{trimmed} // one detail, if it is one
	}
	e, classified := fromDetails(codes.Unknown, obj.Message, details)
	if !classified {
		e.Reason = a2agrpc.ReasonForJSONRPCCode(obj.Code)
	}
	if e.Message == "" {
		e.Message = a2agrpc.NewError(e.Reason, "").Message
	}
	return e
}

// fromDetails decodes an error through a2agrpc.FromStatus, the decoder of
// the gRPC binding, so that both read details alike: ErrorInfo gives the
// reason and metadata, RetryInfo the delay, BadRequest the violations.
// Details of unknown types, or that are not google.rpc details at all, are
// skipped. classified reports whether an A2A ErrorInfo gave the reason;
// otherwise the reason was guessed from c and the caller may know better.
func fromDetails(c codes.Code, message string, raws []json.RawMessage) (e *a2agrpc.Error, classified bool) {
	st := &spb.Status{Code: int32(c), Message: message}
	for _, raw := range raws {
		d := &anypb.Any{}
		if detailOptions.Unmarshal(raw, d) == nil {
			st.Details = append(st.Details, d)
		}
	}
	return a2agrpc.FromStatus(status.FromProto(st)), hasA2AReason(st.Details)
}

// hasA2AReason reports whether details hold an ErrorInfo of the A2A domain
// with a reason, the one detail FromStatus classifies by.
func hasA2AReason(details []*anypb.Any) bool {
	for _, d := range details {
		info := &errdetails.ErrorInfo{}
		if d.MessageIs(info) && d.UnmarshalTo(info) == nil &&
			info.GetDomain() == a2agrpc.ErrorDomain && info.GetReason() != "" {
			return true
		}
	}
	return false
}

// reasonForHTTP classifies an error by its HTTP status alone, for answers
// that carry no A2A error (typically from a proxy or load balancer). body
// is only consulted to tell a missing task from a missing route.
func reasonForHTTP(httpStatus int, body []byte) a2agrpc.Reason {
	switch httpStatus {
	case http.StatusUnauthorized:
		return a2agrpc.ReasonUnauthenticated
	case http.StatusForbidden:
		return a2agrpc.ReasonUnauthorized
	case http.StatusNotFound:
		// A 404 is a missing task only if the server says so; otherwise
		// the URL leads to no A2A operation at all.
		if saysTaskNotFound(body) {
			return a2agrpc.ReasonTaskNotFound
		}
		return a2agrpc.ReasonMethodNotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return a2agrpc.ReasonMethodNotFound
	case http.StatusRequestTimeout:
		return a2agrpc.ReasonUnavailable // the server gave up waiting for us: try again
	case http.StatusUnsupportedMediaType:
		return a2agrpc.ReasonContentTypeNotSupported
	case http.StatusTooManyRequests:
		return a2agrpc.ReasonResourceExhausted
	case 499:
		return a2agrpc.ReasonCanceled
	}
	switch {
	case httpStatus >= 500:
		// Bad gateways, unavailable or timed-out upstreams, and crashed
		// proxies: the agent was not reached.
		return a2agrpc.ReasonUnavailable
	case httpStatus >= 400:
		return a2agrpc.ReasonInvalidRequest
	}
	// A status that is no error at all (a redirect that was not followed,
	// an informational status) is not an A2A answer.
	return a2agrpc.ReasonInvalidAgentResponse
}

// saysTaskNotFound reports whether an undecodable 404 body names the
// missing task as the reason.
func saysTaskNotFound(body []byte) bool {
	lower := bytes.ToLower(body)
	return bytes.Contains(lower, []byte("task_not_found")) || bytes.Contains(lower, []byte("task not found"))
}

// snippet is the start of body as one line of valid UTF-8, to quote in an
// error message.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "\uFFFD")), " ")
	if len(s) <= maxSnippet {
		return s
	}
	cut := maxSnippet
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// parseRetryAfter reads a Retry-After header, in seconds or as an HTTP
// date; 0 when absent, invalid or already past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(secs, 0), maxRetryAfterSeconds)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
