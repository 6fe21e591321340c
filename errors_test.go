package a2agrpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/a2agrpc/a2agrpc"
)

// TestErrorTable pins every reason to the codes of the A2A v1.0.1 table (and
// JSON-RPC 2.0 for the generic ones). Changing a row must change this test.
func TestErrorTable(t *testing.T) {
	tests := []struct {
		err     *a2agrpc.Error
		grpc    codes.Code
		http    int
		jsonrpc int
	}{
		{a2agrpc.ErrTaskNotFound, codes.NotFound, 404, -32001},
		{a2agrpc.ErrTaskNotCancelable, codes.FailedPrecondition, 400, -32002},
		{a2agrpc.ErrPushNotificationNotSupported, codes.FailedPrecondition, 400, -32003},
		{a2agrpc.ErrUnsupportedOperation, codes.FailedPrecondition, 400, -32004},
		{a2agrpc.ErrContentTypeNotSupported, codes.InvalidArgument, 400, -32005},
		{a2agrpc.ErrInvalidAgentResponse, codes.Internal, 500, -32006},
		{a2agrpc.ErrExtendedAgentCardNotConfigured, codes.FailedPrecondition, 400, -32007},
		{a2agrpc.ErrExtensionSupportRequired, codes.FailedPrecondition, 400, -32008},
		{a2agrpc.ErrVersionNotSupported, codes.FailedPrecondition, 400, -32009},
		{a2agrpc.ErrParse, codes.InvalidArgument, 400, -32700},
		{a2agrpc.ErrInvalidRequest, codes.InvalidArgument, 400, -32600},
		{a2agrpc.ErrMethodNotFound, codes.Unimplemented, 404, -32601},
		{a2agrpc.ErrInvalidParams, codes.InvalidArgument, 400, -32602},
		{a2agrpc.ErrInternal, codes.Internal, 500, -32603},
		{a2agrpc.ErrUnauthenticated, codes.Unauthenticated, 401, -31401},
		{a2agrpc.ErrUnauthorized, codes.PermissionDenied, 403, -31403},
		{a2agrpc.ErrResourceExhausted, codes.ResourceExhausted, 429, -32603},
		{a2agrpc.ErrUnavailable, codes.Unavailable, 503, -32603},
		{a2agrpc.ErrAgentNotFound, codes.NotFound, 404, -31404},
	}
	seen := map[a2agrpc.Reason]bool{}
	for _, tt := range tests {
		t.Run(string(tt.err.Reason), func(t *testing.T) {
			seen[tt.err.Reason] = true
			if got := tt.err.GRPCCode(); got != tt.grpc {
				t.Errorf("gRPC code = %v, want %v", got, tt.grpc)
			}
			if got := tt.err.HTTPStatus(); got != tt.http {
				t.Errorf("HTTP status = %d, want %d", got, tt.http)
			}
			if got := tt.err.JSONRPCCode(); got != tt.jsonrpc {
				t.Errorf("JSON-RPC code = %d, want %d", got, tt.jsonrpc)
			}
			if tt.err.Message == "" {
				t.Error("sentinel has no default message")
			}
			// Round trip through a gRPC status keeps the reason.
			back := a2agrpc.FromStatus(tt.err.GRPCStatus())
			if !errors.Is(back, tt.err) || back.Message != tt.err.Message {
				t.Errorf("FromStatus(GRPCStatus()) = %v, want %v", back, tt.err)
			}
			if tt.jsonrpc != -32603 || tt.err.Reason == a2agrpc.ReasonInternal {
				if got := a2agrpc.ReasonForJSONRPCCode(tt.jsonrpc); got != tt.err.Reason {
					t.Errorf("ReasonForJSONRPCCode(%d) = %s, want %s", tt.jsonrpc, got, tt.err.Reason)
				}
			}
		})
	}
	for _, r := range a2agrpc.Reasons() {
		if r == a2agrpc.ReasonDeadlineExceeded || r == a2agrpc.ReasonCanceled {
			continue // no sentinel: they only arise from context errors
		}
		if !seen[r] {
			t.Errorf("reason %s is not covered by this test", r)
		}
	}
}

func TestError_GRPCStatusDetails(t *testing.T) {
	e := a2agrpc.ErrTaskNotFound.WithMeta("taskId", "t-9")
	st := e.GRPCStatus()
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if d, ok := d.(*errdetails.ErrorInfo); ok {
			info = d
		}
	}
	if info == nil {
		t.Fatal("no ErrorInfo in status details")
	}
	if info.GetDomain() != "a2a-protocol.org" || info.GetReason() != "TASK_NOT_FOUND" || info.GetMetadata()["taskId"] != "t-9" {
		t.Errorf("ErrorInfo = %v", info)
	}
	if a2agrpc.ErrTaskNotFound.Metadata != nil {
		t.Error("WithMeta modified the sentinel")
	}
}

func TestInvalidParams_namesTheField(t *testing.T) {
	e := a2agrpc.InvalidParams("message.parts", "must not be empty")
	if !errors.Is(e, a2agrpc.ErrInvalidParams) {
		t.Fatal("not an invalid-params error")
	}
	if e.Message != "invalid message.parts: must not be empty" || e.Metadata["field"] != "message.parts" {
		t.Errorf("message %q, metadata %v", e.Message, e.Metadata)
	}
	var br *errdetails.BadRequest
	for _, d := range e.GRPCStatus().Details() {
		if d, ok := d.(*errdetails.BadRequest); ok {
			br = d
		}
	}
	if br == nil || br.GetFieldViolations()[0].GetField() != "message.parts" {
		t.Errorf("BadRequest detail = %v", br)
	}
	back := a2agrpc.FromStatus(e.GRPCStatus())
	if len(back.Violations) != 1 || back.Violations[0].Field != "message.parts" {
		t.Errorf("violations after round trip = %v", back.Violations)
	}
}

func TestAsError(t *testing.T) {
	tests := []struct {
		name        string
		in          error
		want        a2agrpc.Reason
		wantMessage string
	}{
		{"a2a_error", a2agrpc.ErrTaskNotCancelable, a2agrpc.ReasonTaskNotCancelable, "task cannot be canceled"},
		{"wrapped_a2a_error", fmt.Errorf("ctx: %w", a2agrpc.ErrTaskNotFound), a2agrpc.ReasonTaskNotFound, "task not found"},
		{"canceled", context.Canceled, a2agrpc.ReasonCanceled, "request canceled"},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), a2agrpc.ReasonDeadlineExceeded, "deadline exceeded"},
		{"grpc_without_info", status.Error(codes.NotFound, "gone"), a2agrpc.ReasonTaskNotFound, "gone"},
		{"grpc_unknown_code", status.Error(codes.Aborted, "aborted"), a2agrpc.ReasonInternal, "aborted"},
		{"plain_error_hides_text", io.ErrUnexpectedEOF, a2agrpc.ReasonInternal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a2agrpc.AsError(tt.in)
			if got.Reason != tt.want || got.Message != tt.wantMessage {
				t.Errorf("AsError(%v) = %s %q, want %s %q", tt.in, got.Reason, got.Message, tt.want, tt.wantMessage)
			}
		})
	}
	if a2agrpc.AsError(nil) != nil {
		t.Error("AsError(nil) != nil")
	}
	if !errors.Is(a2agrpc.AsError(io.EOF), io.EOF) {
		t.Error("cause is not kept for logging")
	}
	if http.StatusText(a2agrpc.ErrInternal.HTTPStatus()) == "" {
		t.Error("internal error has no valid HTTP status")
	}
}

// FuzzFromStatus feeds arbitrary google.rpc.Status bytes, as a peer could
// send, to the decoder: it must never panic and must classify every non-OK
// status.
func FuzzFromStatus(f *testing.F) {
	seed := func(st *status.Status) {
		b, _ := proto.Marshal(st.Proto())
		f.Add(b)
	}
	seed(a2agrpc.ErrTaskNotFound.WithMeta("taskId", "x").GRPCStatus())
	seed(a2agrpc.InvalidParams("message", "required").GRPCStatus())
	seed(status.New(codes.Unavailable, "later"))
	foreign, _ := anypb.New(&errdetails.ErrorInfo{Reason: "OTHER", Domain: "example.com"})
	b, _ := proto.Marshal(&spb.Status{Code: 9, Message: "m", Details: []*anypb.Any{foreign, {TypeUrl: "junk", Value: []byte{1, 2}}}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var pb spb.Status
		if proto.Unmarshal(raw, &pb) != nil {
			return
		}
		got := a2agrpc.FromStatus(status.FromProto(&pb))
		if codes.Code(pb.GetCode()) == codes.OK {
			if got != nil {
				t.Fatalf("OK status decoded as %v", got)
			}
			return
		}
		if got == nil || got.Reason == "" {
			t.Fatalf("status %v decoded as %v", &pb, got)
		}
	})
}
