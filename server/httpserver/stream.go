package httpserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/sse"
	"github.com/a2agrpc/a2agrpc/server"
)

// The two streaming operations are served by hand rather than by the
// gateway (which can only frame streams as NDJSON): each event is one SSE
// "data:" line holding a bare StreamResponse, with its sequence number as
// the event id so a client can resume with Last-Event-ID.

// sendStream serves POST [/{tenant}]/message:stream.
func (s *Server) sendStream(w http.ResponseWriter, r *http.Request, params map[string]string) {
	req, err := decodeSend(r, params)
	if err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, s.h.SendStreamingMessage(r.Context(), req))
}

// subscribe serves GET and POST [/{tenant}]/tasks/{id}:subscribe; POST
// accepts an empty body or {}. A Last-Event-ID header resumes after that
// event.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, params map[string]string) {
	req := &a2av1.SubscribeToTaskRequest{}
	if r.Method == http.MethodPost {
		if err := decodeBody(r, req); err != nil {
			writeError(w, err)
			return
		}
	}
	req.Id = params["id"]
	if t := params["tenant"]; t != "" {
		req.Tenant = t
	}
	after, err := lastEventID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, stop := s.follow(r.Context())
	defer stop()
	s.stream(w, r, s.h.ResubscribeToTask(ctx, req, after))
}

// decodeBody reads an optional ProtoJSON body into m.
func decodeBody(r *http.Request, m proto.Message) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return err // *http.MaxBytesError: 413
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := a2ajson.Unmarshal(raw, m); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeError tells malformed JSON (PARSE_ERROR) from a well-formed body
// with a wrong value (INVALID_PARAMS, protojson's message names the field).
func decodeError(err error) *a2agrpc.Error {
	if msg := err.Error(); malformedJSON(msg) {
		return a2agrpc.Errorf(a2agrpc.ReasonParseError, "request body is not valid JSON: %s", msg)
	}
	return a2agrpc.Errorf(a2agrpc.ReasonInvalidParams, "invalid request body: %s", err)
}

// decodeSend reads the body of message:send and message:stream; a tenant in
// the path fills the request's.
func decodeSend(r *http.Request, params map[string]string) (*a2av1.SendMessageRequest, error) {
	req := &a2av1.SendMessageRequest{}
	if err := decodeBody(r, req); err != nil {
		return nil, err
	}
	if t := params["tenant"]; t != "" {
		req.Tenant = t
	}
	return req, nil
}

// stream writes events as SSE. An error before the first event is a normal
// HTTP error response; a later one is an "event: error" whose data is the
// AIP-193 body, after which the stream ends.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, events iter.Seq2[server.Event, error]) {
	next, stop := iter.Pull2(events)
	defer stop()
	first, err, ok := next()
	if !ok {
		err = errors.New("stream ended before its first event")
	}
	if err != nil {
		writeError(w, s.draining(err))
		return
	}
	setActivated(w, server.CallInfoFrom(r.Context()))
	out := sse.Start(w, s.cfg.keepAlive)
	defer out.Close()
	for ev := first; ; {
		data, merr := a2ajson.Marshal(ev.Response)
		if merr != nil {
			err = merr
			break
		}
		id := ""
		if ev.Seq > 0 {
			id = strconv.FormatInt(ev.Seq, 10)
		}
		if werr := out.Event(id, "", data); werr != nil {
			return // the client went away; stop() detaches the stream
		}
		if ev, err, ok = next(); !ok || err != nil {
			break
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		e := classify(s.draining(err))
		_ = out.Event("", "error", body(e, e.HTTPStatus()))
	}
}

// lastEventID reads the Last-Event-ID header of a reconnecting stream: the
// sequence number to resume after, or -1 when the header is absent. A value
// that is not an event id of ours is invalid params, as on the REST
// binding.
func lastEventID(r *http.Request) (int64, error) {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(last, 10, 64)
	if err != nil || n < 0 {
		return -1, a2agrpc.InvalidParams("Last-Event-ID", "must be an event id of this stream, got %q", last)
	}
	return n, nil
}

// draining reports a stream cut short by Drain as the UNAVAILABLE it is
// (resubscribe elsewhere), not as the cancellation the store or the agent
// saw when Drain cancelled the stream's context.
func (s *Server) draining(err error) error {
	if s.drain.Err() != nil && (errors.Is(err, context.Canceled) || a2agrpc.AsError(err).Reason == a2agrpc.ReasonCanceled) {
		return errDraining
	}
	return err
}
