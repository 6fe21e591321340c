package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/a2agrpc/a2agrpc"
	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// MeshExtensionURI identifies the mesh extension in an Agent Card's
// capabilities.extensions (the root package holds it, so that the client
// need not import the server).
const MeshExtensionURI = a2agrpc.MeshExtensionURI

// MeshExtension is the card entry advertising the mesh stream. It is not
// required, so standard A2A clients ignore it.
func MeshExtension() *a2av1.AgentExtension {
	return &a2av1.AgentExtension{
		Uri:         MeshExtensionURI,
		Description: "Multiplexes A2A operations over one bidirectional gRPC stream (a2agrpc.mesh.v1.MeshService/Connect) on the gRPC interface.",
	}
}

var (
	errPeerCanceled  = a2agrpc.NewError(a2agrpc.ReasonCanceled, "request canceled by the client")
	errNoOperation   = a2agrpc.NewError(a2agrpc.ReasonInvalidRequest, "request frame carries no operation")
	errDuplicateID   = a2agrpc.NewError(a2agrpc.ReasonInvalidRequest, "request_id is already in use by a request in flight")
	errZeroID        = a2agrpc.NewError(a2agrpc.ReasonInvalidRequest, "request_id 0 is reserved for ping")
	errStreamDrained = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "server is shutting down; open a new stream elsewhere")
)

type meshConfig struct {
	maxInFlight int
	heartbeat   time.Duration
	sendQueue   int
}

// flushWait bounds how long an ending stream waits for its last frames to
// reach a client; a client that stopped reading must not hold the server.
const flushWait = 5 * time.Second

// mesh implements meshv1.MeshServiceServer over a server.Handler.
//
// Operations on the stream do not pass through gRPC interceptors (only
// Connect does): service parameters and identity are taken once from the
// stream, and panics are recovered per request.
type mesh struct {
	meshv1.UnimplementedMeshServiceServer
	h        *server.Handler
	cfg      meshConfig
	draining *drain
	tracer   trace.Tracer  // spans of mesh requests (observe.go)
	obs      *meshObserver // logs and metrics of mesh requests
}

// session is one Connect stream.
type session struct {
	m    *mesh
	ctx  context.Context // ends with the stream
	stop context.CancelCauseFunc
	out  chan *meshv1.Response
	base *server.CallInfo

	mu       sync.Mutex
	inFlight map[uint64]context.CancelCauseFunc // requests not yet answered with a final frame
	wake     chan struct{}                      // capacity 1: a request finished
	pending  atomic.Int32                       // rejections waiting for room in out
	requests sync.WaitGroup
}

// Connect serves one mesh stream until the client closes its side and every
// request has finished, the client goes away, or the server drains.
func (m *mesh) Connect(stream grpc.BidiStreamingServer[meshv1.Request, meshv1.Response]) error {
	ctx, stop := context.WithCancelCause(stream.Context())
	defer stop(nil)
	s := &session{
		m: m, ctx: ctx, stop: stop,
		out:      make(chan *meshv1.Response, m.cfg.sendQueue),
		base:     server.CallInfoFrom(stream.Context()),
		inFlight: make(map[uint64]context.CancelCauseFunc),
		wake:     make(chan struct{}, 1),
	}
	frames, recvErr := make(chan *meshv1.Request), make(chan error, 1)
	go s.receive(stream, frames, recvErr)
	sent := make(chan error, 1)
	go func() { sent <- s.send(stream) }()

	var (
		result     error
		halfClosed bool
		draining   bool
		drainSig   = m.draining.ctx.Done()
	)
loop:
	for {
		if (halfClosed || draining) && s.inFlightCount() == 0 {
			if draining {
				result = errStreamDrained
			}
			break
		}
		select {
		case f := <-frames:
			s.dispatch(f, draining)
		case err := <-recvErr:
			if !errors.Is(err, io.EOF) {
				result = err
				stop(err) // the client is gone: abandon what is queued
				break loop
			}
			halfClosed, frames = true, nil
		case <-s.wake:
		case <-drainSig:
			draining, drainSig = true, nil
		case <-ctx.Done():
			result = context.Cause(ctx)
			break loop
		}
	}
	// Let every request finish or notice the end, then flush what they sent
	// (bounded: a client that stopped reading must not hold the server). On
	// a normal end (half-close, drain) the session context stays alive until
	// then: a request may have left the in-flight set but not yet queued its
	// final frame.
	s.mu.Lock()
	for _, cancel := range s.inFlight {
		cancel(context.Canceled)
	}
	s.mu.Unlock()
	s.requests.Wait()
	close(s.out)
	select {
	case err := <-sent:
		if err != nil && result == nil {
			result = err
		}
	case <-time.After(flushWait):
		stop(errors.New("client stopped reading"))
	}
	return wireErr(result)
}

func (s *session) inFlightCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inFlight)
}

func (s *session) receive(stream grpc.BidiStreamingServer[meshv1.Request, meshv1.Response], frames chan<- *meshv1.Request, errc chan<- error) {
	for {
		f, err := stream.Recv()
		if err != nil {
			errc <- err
			return
		}
		select {
		case frames <- f:
		case <-s.ctx.Done():
			return
		}
	}
}

// send writes queued frames in order and a heartbeat after each quiet
// period; it returns when the queue is closed and drained, or on a send
// error (which also ends the session).
func (s *session) send(stream grpc.BidiStreamingServer[meshv1.Request, meshv1.Response]) error {
	var tick <-chan time.Time
	if hb := s.m.cfg.heartbeat; hb > 0 {
		t := time.NewTicker(hb)
		defer t.Stop()
		tick = t.C
	}
	quiet := true
	for {
		var r *meshv1.Response
		select {
		case f, ok := <-s.out:
			if !ok {
				return nil
			}
			r, quiet = f, false
		case <-tick:
			if !quiet {
				quiet = true
				continue
			}
			r = &meshv1.Response{Result: &meshv1.Response_Heartbeat{Heartbeat: &emptypb.Empty{}}}
		}
		if err := stream.Send(r); err != nil {
			s.stop(err)
			// Keep draining so no request blocks on a full queue.
			for range s.out {
			}
			return err
		}
	}
}

// emit queues a frame; false if the session ended first.
func (s *session) emit(r *meshv1.Response) bool {
	select {
	case s.out <- r:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func errorFrame(id uint64, err error) *meshv1.Response {
	return &meshv1.Response{RequestId: id, Result: &meshv1.Response_Error{Error: a2agrpc.AsError(err).GRPCStatus().Proto()}}
}

// reject answers a frame that starts no request. It never blocks the
// Connect loop (which must keep seeing cancels, completions and the drain
// signal): when the send queue is full the answer is queued by a goroutine,
// and a client that keeps sending while reading nothing is disconnected.
func (s *session) reject(id uint64, err error) {
	r := errorFrame(id, err)
	select {
	case s.out <- r:
		return
	default:
	}
	if s.pending.Add(1) > int32(s.m.cfg.maxInFlight) {
		s.stop(a2agrpc.NewError(a2agrpc.ReasonResourceExhausted, "client sends frames without reading the answers"))
		return
	}
	s.requests.Add(1)
	go func() {
		defer s.requests.Done()
		defer s.pending.Add(-1)
		s.emit(r)
	}()
}

// dispatch handles one frame on the Connect goroutine.
func (s *session) dispatch(f *meshv1.Request, draining bool) {
	id := f.GetRequestId()
	s.mu.Lock()
	cancel, busy := s.inFlight[id]
	s.mu.Unlock()
	switch f.GetOperation().(type) {
	case *meshv1.Request_Ping:
		select { // a pong is dropped rather than waited for
		case s.out <- &meshv1.Response{RequestId: id, Result: &meshv1.Response_Pong{Pong: &emptypb.Empty{}}}:
		default:
		}
		return
	case *meshv1.Request_Cancel:
		if busy {
			cancel(errPeerCanceled)
		}
		return
	}
	switch {
	case busy:
		// Answering on this id would look like the final frame of the request
		// still running under it: report the clash on id 0 instead.
		s.reject(0, errDuplicateID.WithMeta("requestId", strconv.FormatUint(id, 10)))
	case f.GetOperation() == nil:
		s.reject(id, errNoOperation)
	case id == 0:
		s.reject(0, errZeroID)
	case draining:
		s.reject(id, errStreamDrained)
	case s.inFlightCount() >= s.m.cfg.maxInFlight:
		s.reject(id, a2agrpc.Errorf(a2agrpc.ReasonResourceExhausted,
			"too many requests in flight on this stream (limit %d); wait for some to finish", s.m.cfg.maxInFlight))
	default:
		ctx, cancel := context.WithCancelCause(s.ctx)
		s.mu.Lock()
		s.inFlight[id] = cancel
		s.mu.Unlock()
		info := &server.CallInfo{Version: s.base.Version, Caller: s.base.Caller, Remote: s.base.Remote,
			Extensions: a2agrpc.SplitList(append(slices.Clone(s.base.Extensions), f.GetExtensions()...)...)}
		s.requests.Add(1)
		ctx = withTraceContext(ctx, f.GetTraceContext())
		go s.serve(server.WithCallInfo(ctx, info), cancel, info, f)
	}
}

// request is one request's view of the session: its frames, in order, the
// first carrying the activated extensions, the last marked final.
type request struct {
	s     *session
	id    uint64
	info  *server.CallInfo
	first bool
	err   error // how the request failed, for its log line and span
}

func (r *request) frame(f *meshv1.Response) *meshv1.Response {
	f.RequestId = r.id
	if r.first {
		f.ActivatedExtensions, r.first = r.info.Activated(), false
	}
	return f
}

// event queues a non-final frame.
func (r *request) event(f *meshv1.Response) bool { return r.s.emit(r.frame(f)) }

// final releases the request id, then queues its last frame: by the time the
// client sees it, the id may be reused and no longer counts as in flight.
func (r *request) final(f *meshv1.Response) {
	f = r.frame(f)
	r.s.mu.Lock()
	delete(r.s.inFlight, r.id)
	r.s.mu.Unlock()
	select {
	case r.s.wake <- struct{}{}:
	default:
	}
	r.s.emit(f)
}

func (r *request) fail(err error) {
	r.err = err
	r.final(errorFrame(r.id, err))
}

// serve runs one request.
func (s *session) serve(ctx context.Context, cancel context.CancelCauseFunc, info *server.CallInfo, f *meshv1.Request) {
	ctx, span := s.m.startRequestSpan(ctx, f)
	ctx, observed := s.m.obs.begin(ctx, f)
	r := &request{s: s, id: f.GetRequestId(), info: info, first: true}
	defer func() { observed(r.err); endSpan(span, r.err) }()
	defer s.requests.Done()
	defer cancel(nil)
	defer func() {
		if p := recover(); p != nil {
			r.fail(a2agrpc.NewError(a2agrpc.ReasonInternal, "").WithCause(fmt.Errorf("panic: %v", p)))
		}
	}()
	h := s.m.h
	unary := func(msg proto.Message, err error, wrap func(proto.Message) *meshv1.Response) {
		if err != nil {
			r.fail(err)
			return
		}
		r.final(wrap(msg))
	}
	switch op := f.GetOperation().(type) {
	case *meshv1.Request_SendMessage:
		resp, err := h.SendMessage(ctx, op.SendMessage)
		unary(resp, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_SendMessage{SendMessage: m.(*a2av1.SendMessageResponse)}}
		})
	case *meshv1.Request_GetTask:
		resp, err := h.GetTask(ctx, op.GetTask)
		unary(resp, err, taskResult)
	case *meshv1.Request_CancelTask:
		resp, err := h.CancelTask(ctx, op.CancelTask)
		unary(resp, err, taskResult)
	case *meshv1.Request_ListTasks:
		resp, err := h.ListTasks(ctx, op.ListTasks)
		unary(resp, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_ListTasks{ListTasks: m.(*a2av1.ListTasksResponse)}}
		})
	case *meshv1.Request_CreateTaskPushNotificationConfig:
		resp, err := h.CreateTaskPushNotificationConfig(ctx, op.CreateTaskPushNotificationConfig)
		unary(resp, err, pushConfigResult)
	case *meshv1.Request_GetTaskPushNotificationConfig:
		resp, err := h.GetTaskPushNotificationConfig(ctx, op.GetTaskPushNotificationConfig)
		unary(resp, err, pushConfigResult)
	case *meshv1.Request_ListTaskPushNotificationConfigs:
		resp, err := h.ListTaskPushNotificationConfigs(ctx, op.ListTaskPushNotificationConfigs)
		unary(resp, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_PushConfigs{PushConfigs: m.(*a2av1.ListTaskPushNotificationConfigsResponse)}}
		})
	case *meshv1.Request_DeleteTaskPushNotificationConfig:
		resp, err := h.DeleteTaskPushNotificationConfig(ctx, op.DeleteTaskPushNotificationConfig)
		unary(resp, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_Deleted{Deleted: m.(*emptypb.Empty)}}
		})
	case *meshv1.Request_GetExtendedAgentCard:
		resp, err := h.GetExtendedAgentCard(ctx, op.GetExtendedAgentCard)
		unary(resp, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_AgentCard{AgentCard: m.(*a2av1.AgentCard)}}
		})
	case *meshv1.Request_SendStreamingMessage:
		s.stream(ctx, r, false, func(ctx context.Context) iter.Seq2[server.Event, error] {
			return h.SendStreamingMessage(ctx, op.SendStreamingMessage)
		})
	case *meshv1.Request_SubscribeToTask:
		s.stream(ctx, r, true, func(ctx context.Context) iter.Seq2[server.Event, error] {
			// A positive resume_after is the mesh's Last-Event-ID: replay
			// what the client missed instead of starting over.
			if after := f.GetResumeAfter(); after > 0 {
				return h.ResubscribeToTask(ctx, op.SubscribeToTask, after)
			}
			return h.SubscribeToTask(ctx, op.SubscribeToTask)
		})
	}
}

func (s *session) stream(ctx context.Context, r *request, following bool, open func(context.Context) iter.Seq2[server.Event, error]) {
	if following {
		var stop func()
		ctx, stop = s.m.draining.follow(ctx)
		defer stop()
	}
	for ev, err := range open(ctx) {
		if err != nil {
			r.fail(err)
			return
		}
		if !r.event(&meshv1.Response{Sequence: ev.Seq, Result: &meshv1.Response_Event{Event: ev.Response}}) {
			return
		}
	}
	r.final(&meshv1.Response{Result: &meshv1.Response_End{End: &emptypb.Empty{}}})
}

func taskResult(m proto.Message) *meshv1.Response {
	return &meshv1.Response{Result: &meshv1.Response_Task{Task: m.(*a2av1.Task)}}
}

func pushConfigResult(m proto.Message) *meshv1.Response {
	return &meshv1.Response{Result: &meshv1.Response_PushConfig{PushConfig: m.(*a2av1.TaskPushNotificationConfig)}}
}

// traceKeys are the W3C Trace Context keys a request frame may carry.
var traceKeys = []string{"traceparent", "tracestate"}

// withTraceContext gives one request the trace context its frame carries,
// as incoming metadata: where a unary call would have it, so that tracing
// and agents read it the same way on every binding. The stream's own
// metadata is kept otherwise.
func withTraceContext(ctx context.Context, tc map[string]string) context.Context {
	if len(tc) == 0 {
		return ctx
	}
	md, _ := metadata.FromIncomingContext(ctx)
	md = md.Copy()
	for _, k := range traceKeys {
		if v, ok := tc[k]; ok {
			md.Set(k, v)
		}
	}
	return metadata.NewIncomingContext(ctx, md)
}
