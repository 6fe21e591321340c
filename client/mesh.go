package client

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/a2agrpc/a2agrpc"
	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// meshStreamBuffer is how many frames of one streaming request may wait
// for their consumer. The frames of every request arrive on one stream, so
// a consumer that falls further behind than this is failed rather than
// allowed to hold up the others.
const meshStreamBuffer = 128

var (
	errMeshClosed   = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "client: the mesh transport is closed")
	errMeshOverflow = a2agrpc.NewError(a2agrpc.ReasonResourceExhausted,
		"client: stream events were not read fast enough; the request was abandoned so it would not hold up the others on its mesh stream")
	errMeshEnded = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "client: the server ended the mesh stream")
)

// meshTransport is the a2agrpc mesh extension: every operation travels as
// frames on one long-lived MeshService/Connect stream, tagged with a
// request id. The stream is opened on first use and again after it fails;
// the requests in flight on a failed stream fail with it.
type meshTransport struct {
	conn   *grpc.ClientConn
	p      params
	buffer int           // frames buffered per streaming request
	ids    atomic.Uint64 // last request id; ids are never reused, even across streams
	tracer trace.Tracer  // of the requests' client spans; nil: no spans

	mu     sync.Mutex
	cur    *meshSession // the current stream, possibly still connecting or already failed
	closed bool
}

// newMesh returns the mesh transport over conn, without request spans.
// The Client owns conn; the transport owns only its stream.
func newMesh(conn *grpc.ClientConn, p params) transport { return newTracedMesh(conn, p, nil) }

// newTracedMesh returns the mesh transport over conn, giving every request
// a client span from tp (none when tp is nil).
func newTracedMesh(conn *grpc.ClientConn, p params, tp trace.TracerProvider) transport {
	m := &meshTransport{conn: conn, p: p, buffer: meshStreamBuffer}
	if tp != nil {
		m.tracer = tp.Tracer(meshTracerName)
	}
	return m
}

// session returns the live stream, opening one when there is none or the
// last one failed. Opening happens in the background, so a caller whose ctx
// ends while the connection is still being made returns at once.
func (m *meshTransport) session(ctx context.Context) (*meshSession, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errMeshClosed
	}
	if m.cur == nil || m.cur.ended() {
		m.cur = newMeshSession()
		go m.cur.run(m.conn, m.p)
	}
	s := m.cur
	m.mu.Unlock()
	select {
	case <-s.ready:
		return s, nil
	case <-ctx.Done():
		return nil, a2agrpc.AsError(ctx.Err())
	}
}

// start sends one request built from tmpl (its operation and resume_after)
// under a fresh id, with the caller's extensions, and returns the call
// through which its frames arrive. With a tracer, the request's client
// span is open from here until the call's finish; a request that could not
// be sent has its span ended here.
func (m *meshTransport) start(ctx context.Context, tmpl *meshv1.Request, buffer int) (*meshCall, error) {
	if err := ctx.Err(); err != nil {
		return nil, a2agrpc.AsError(err)
	}
	if m.tracer == nil {
		return m.send(ctx, tmpl, buffer, false)
	}
	name := meshSpanName(&meshv1.Request{Operation: tmpl.GetOperation()})
	ctx, span := m.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
	c, err := m.send(ctx, tmpl, buffer, true)
	if err != nil {
		endMeshSpan(span, err)
		return nil, err
	}
	c.span = span
	return c, nil
}

// send sends the request under a fresh id on the live stream. When traced,
// ctx holds the request's client span and the frame carries that span's
// trace context, so the server's request span is its child; otherwise the
// frame carries the trace context the header source found.
func (m *meshTransport) send(ctx context.Context, tmpl *meshv1.Request, buffer int, traced bool) (*meshCall, error) {
	ext, tc, err := m.frameParams(ctx)
	if err != nil {
		return nil, err
	}
	if traced {
		// Headers forwarded with WithCallHeaders may carry another trace
		// context; the request's span replaces it, as the stats handler's
		// span replaces it on the gRPC binding.
		if tc == nil {
			tc = make(map[string]string, 2)
		}
		clear(tc)
		traceContext.Inject(ctx, propagation.MapCarrier(tc))
	}
	s, err := m.session(ctx)
	if err != nil {
		return nil, err
	}
	req := &meshv1.Request{
		RequestId:    m.ids.Add(1),
		Extensions:   ext,
		TraceContext: tc,
		ResumeAfter:  tmpl.GetResumeAfter(),
		Operation:    tmpl.GetOperation(),
	}
	return s.begin(req, buffer)
}

// frameParams returns the A2A-Extensions and the W3C trace context of
// this call. The stream's metadata is fixed when it opens, so per-call
// parameters travel in the request frame.
func (m *meshTransport) frameParams(ctx context.Context) (ext []string, tc map[string]string, err error) {
	h, err := m.p.headers(ctx)
	if err != nil {
		return nil, nil, a2agrpc.AsError(err)
	}
	for k, v := range h {
		switch {
		case strings.EqualFold(k, a2agrpc.HeaderExtensions):
			ext = a2agrpc.SplitList(v)
		case strings.EqualFold(k, "traceparent"), strings.EqualFold(k, "tracestate"):
			if tc == nil {
				tc = make(map[string]string, 2)
			}
			tc[strings.ToLower(k)] = v
		}
	}
	return ext, tc, nil
}

// meshUnary runs an operation answered by one frame; pick extracts the
// expected result from it and returns the zero value for any other frame.
func meshUnary[T comparable](ctx context.Context, m *meshTransport, tmpl *meshv1.Request, pick func(*meshv1.Response) T) (_ T, err error) {
	var zero T
	c, err := m.start(ctx, tmpl, 1)
	if err != nil {
		return zero, err
	}
	defer func() { c.finish(err) }()
	f, err := c.next(ctx)
	if err != nil {
		return zero, err
	}
	if e := f.GetError(); e != nil {
		return zero, meshFrameError(e)
	}
	if v := pick(f); v != zero {
		return v, nil
	}
	return zero, meshUnexpectedFrame(f)
}

// stream runs an operation answered by events and an end frame.
func (m *meshTransport) stream(ctx context.Context, tmpl *meshv1.Request) stream {
	return func(yield func(event, error) bool) {
		c, err := m.start(ctx, tmpl, m.buffer)
		if err != nil {
			yield(event{}, err)
			return
		}
		// Abandoning a request still in flight (the caller broke out, or
		// its ctx ended) tells the server to stop its work. A caller that
		// breaks out has not seen the request fail: its span ends without
		// an error.
		var failure error
		defer func() { c.finish(failure) }()
		for {
			f, err := c.next(ctx)
			if err != nil {
				failure = err
				yield(event{}, err)
				return
			}
			switch r := f.GetResult().(type) {
			case *meshv1.Response_Event:
				if !yield(event{seq: f.GetSequence(), resp: r.Event}, nil) {
					return
				}
			case *meshv1.Response_End:
				return
			case *meshv1.Response_Error:
				failure = meshFrameError(r.Error)
				yield(event{}, failure)
				return
			default:
				failure = meshUnexpectedFrame(f)
				yield(event{}, failure)
				return
			}
		}
	}
}

func (m *meshTransport) sendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	return meshUnary(ctx, m, &meshv1.Request{Operation: &meshv1.Request_SendMessage{SendMessage: req}},
		(*meshv1.Response).GetSendMessage)
}

func (m *meshTransport) sendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) stream {
	return m.stream(ctx, &meshv1.Request{Operation: &meshv1.Request_SendStreamingMessage{SendStreamingMessage: req}})
}

func (m *meshTransport) getTask(ctx context.Context, req *a2av1.GetTaskRequest) (*a2av1.Task, error) {
	return meshUnary(ctx, m, &meshv1.Request{Operation: &meshv1.Request_GetTask{GetTask: req}},
		(*meshv1.Response).GetTask)
}

func (m *meshTransport) listTasks(ctx context.Context, req *a2av1.ListTasksRequest) (*a2av1.ListTasksResponse, error) {
	return meshUnary(ctx, m, &meshv1.Request{Operation: &meshv1.Request_ListTasks{ListTasks: req}},
		(*meshv1.Response).GetListTasks)
}

func (m *meshTransport) cancelTask(ctx context.Context, req *a2av1.CancelTaskRequest) (*a2av1.Task, error) {
	return meshUnary(ctx, m, &meshv1.Request{Operation: &meshv1.Request_CancelTask{CancelTask: req}},
		(*meshv1.Response).GetTask)
}

// subscribeToTask resumes after the event with sequence number after when
// it is positive; the server then replays what was missed from the task's
// event log. Otherwise the subscription is fresh.
func (m *meshTransport) subscribeToTask(ctx context.Context, req *a2av1.SubscribeToTaskRequest, after int64) stream {
	tmpl := &meshv1.Request{Operation: &meshv1.Request_SubscribeToTask{SubscribeToTask: req}}
	if after > 0 {
		tmpl.ResumeAfter = after
	}
	return m.stream(ctx, tmpl)
}

func (m *meshTransport) createPushConfig(ctx context.Context, req *a2av1.TaskPushNotificationConfig) (*a2av1.TaskPushNotificationConfig, error) {
	return meshUnary(ctx, m, &meshv1.Request{Operation: &meshv1.Request_CreateTaskPushNotificationConfig{CreateTaskPushNotificationConfig: req}},
		(*meshv1.Response).GetPushConfig)
}

func (m *meshTransport) getPushConfig(ctx context.Context, req *a2av1.GetTaskPushNotificationConfigRequest) (*a2av1.TaskPushNotificationConfig, error) {
	return meshUnary(ctx, m, &meshv1.Request{Operation: &meshv1.Request_GetTaskPushNotificationConfig{GetTaskPushNotificationConfig: req}},
		(*meshv1.Response).GetPushConfig)
}

func (m *meshTransport) listPushConfigs(ctx context.Context, req *a2av1.ListTaskPushNotificationConfigsRequest) (*a2av1.ListTaskPushNotificationConfigsResponse, error) {
	return meshUnary(ctx, m, &meshv1.Request{Operation: &meshv1.Request_ListTaskPushNotificationConfigs{ListTaskPushNotificationConfigs: req}},
		(*meshv1.Response).GetPushConfigs)
}

func (m *meshTransport) deletePushConfig(ctx context.Context, req *a2av1.DeleteTaskPushNotificationConfigRequest) error {
	_, err := meshUnary(ctx, m, &meshv1.Request{Operation: &meshv1.Request_DeleteTaskPushNotificationConfig{DeleteTaskPushNotificationConfig: req}},
		(*meshv1.Response).GetDeleted)
	return err
}

func (m *meshTransport) getExtendedAgentCard(ctx context.Context, req *a2av1.GetExtendedAgentCardRequest) (*a2av1.AgentCard, error) {
	return meshUnary(ctx, m, &meshv1.Request{Operation: &meshv1.Request_GetExtendedAgentCard{GetExtendedAgentCard: req}},
		(*meshv1.Response).GetAgentCard)
}

// close ends the stream, failing the requests in flight, and makes every
// later call fail. It waits for the stream's reader to stop.
func (m *meshTransport) close() error {
	m.mu.Lock()
	m.closed = true
	s := m.cur
	m.cur = nil
	m.mu.Unlock()
	if s != nil {
		s.fail(errMeshClosed)
		<-s.exited
	}
	return nil
}

// meshSession is one Connect stream and the requests in flight on it.
type meshSession struct {
	ctx    context.Context // the stream's own; independent of any caller
	cancel context.CancelFunc
	// ready is closed once the Connect attempt finished; stream is set
	// before, if it succeeded.
	ready  chan struct{}
	stream grpc.BidiStreamingClient[meshv1.Request, meshv1.Response]
	exited chan struct{} // closed once the reader stopped
	sendMu sync.Mutex    // gRPC streams allow one sender at a time

	mu      sync.Mutex
	pending map[uint64]*meshCall // requests waiting for frames; nil once the session failed
	err     error                // why the session ended; nil while it lives
}

func newMeshSession() *meshSession {
	ctx, cancel := context.WithCancel(context.Background())
	return &meshSession{
		ctx: ctx, cancel: cancel,
		ready: make(chan struct{}), exited: make(chan struct{}),
		pending: make(map[uint64]*meshCall),
	}
}

// run opens the stream, then reads it until it fails, routing each frame to
// its request. It is the session's only reader and never blocks on a
// consumer.
func (s *meshSession) run(conn *grpc.ClientConn, p params) {
	defer close(s.exited)
	if !s.connect(conn, p) {
		return
	}
	for {
		f, err := s.stream.Recv()
		if err != nil {
			s.fail(meshStreamError(err))
			return
		}
		s.route(f)
	}
}

// connect opens the Connect stream; false if it could not, the session
// then having failed.
func (s *meshSession) connect(conn *grpc.ClientConn, p params) bool {
	defer close(s.ready)
	md, err := streamMetadata(s.ctx, p)
	if err != nil {
		s.fail(a2agrpc.AsError(err))
		return false
	}
	stream, err := meshv1.NewMeshServiceClient(conn).Connect(metadata.NewOutgoingContext(s.ctx, md))
	if err != nil {
		s.fail(meshStreamError(err))
		return false
	}
	s.stream = stream
	return true
}

// streamMetadata is the stream's metadata, which applies to every request
// on it: the service parameters without A2A-Extensions, which each request
// frame carries for itself so that a call gets exactly the extensions it
// asked for. The headers are taken with the stream's own context, as the
// stream outlives the call that happened to open it.
func streamMetadata(ctx context.Context, p params) (metadata.MD, error) {
	h, err := p.headers(ctx)
	if err != nil {
		return nil, err
	}
	md := metadata.MD{}
	for k, v := range h {
		if !strings.EqualFold(k, a2agrpc.HeaderExtensions) {
			md.Set(strings.ToLower(k), v)
		}
	}
	return md, nil
}

func (s *meshSession) ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// fail ends the session: every request in flight fails with err and the
// stream is cancelled. Only the first call has an effect.
func (s *meshSession) fail(err error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = err
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	s.cancel()
	for _, c := range pending {
		c.failed <- err // capacity 1 and c just left pending: never blocks
	}
}

// begin registers req and sends it. Registration comes first so that no
// frame can arrive for an id the reader does not know.
func (s *meshSession) begin(req *meshv1.Request, buffer int) (*meshCall, error) {
	c := &meshCall{s: s, id: req.GetRequestId(),
		frames: make(chan *meshv1.Response, buffer), failed: make(chan error, 1)}
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	s.pending[c.id] = c
	s.mu.Unlock()
	err := s.send(req)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		// The stream is gone; the reader is about to learn why and fail
		// the call with that reason.
	default:
		// The frame itself was refused (too large, unmarshalable); the
		// stream carries on.
		s.forget(c.id)
		return nil, grpcError(context.Background(), err)
	}
	return c, nil
}

func (s *meshSession) send(req *meshv1.Request) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.stream.Send(req)
}

// forget drops a request from the routing table and reports whether it was
// still there, i.e. whether the server may still be working on it.
func (s *meshSession) forget(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[id]; !ok {
		return false
	}
	delete(s.pending, id)
	return true
}

// cancelRequest asks the server to stop a request. Failure to send means
// the stream is gone, which stops the request anyway.
func (s *meshSession) cancelRequest(id uint64) {
	_ = s.send(&meshv1.Request{RequestId: id, Operation: &meshv1.Request_Cancel{Cancel: &emptypb.Empty{}}})
}

// route hands a frame to its request without ever waiting: a request whose
// buffer is full fails with ResourceExhausted and is cancelled on the
// server, so one slow consumer cannot stall the stream for the others.
// Frames for no request in flight (heartbeats, pongs, the tail of an
// abandoned request) are dropped.
func (s *meshSession) route(f *meshv1.Response) {
	id := f.GetRequestId()
	if id == 0 {
		return
	}
	final := f.GetEvent() == nil
	s.mu.Lock()
	c := s.pending[id]
	if c == nil {
		s.mu.Unlock()
		return
	}
	select {
	case c.frames <- f:
		if final {
			delete(s.pending, id) // the server has released the id too
		}
		s.mu.Unlock()
		return
	default:
	}
	delete(s.pending, id)
	s.mu.Unlock()
	c.failed <- errMeshOverflow
	if !final {
		go s.cancelRequest(id) // not from the reader: Send may wait for flow control
	}
}

// meshCall is one request's view of its session.
type meshCall struct {
	s  *meshSession
	id uint64
	// frames holds the request's frames in order. Frames are only ever
	// added while the request is pending, under the session lock.
	frames chan *meshv1.Response
	// failed receives the request's failure, once, after it has left the
	// pending set: from then on frames holds all it will ever hold.
	failed chan error
	span   trace.Span // the request's client span; nil without a tracer
}

// next returns the request's next frame. Frames that arrived before a
// failure are returned before it.
func (c *meshCall) next(ctx context.Context) (*meshv1.Response, error) {
	select {
	case f := <-c.frames:
		return f, nil
	default:
	}
	select {
	case f := <-c.frames:
		return f, nil
	case err := <-c.failed:
		c.failed <- err // keep it for the next call of next
		select {
		case f := <-c.frames:
			return f, nil
		default:
			return nil, err
		}
	case <-ctx.Done():
		return nil, a2agrpc.AsError(ctx.Err())
	}
}

// abandon forgets a request its caller no longer waits for and, if the
// server may still be working on it, cancels it there.
func (c *meshCall) abandon() {
	if c.s.forget(c.id) {
		c.s.cancelRequest(c.id)
	}
}

// finish releases a request its caller is done with (see abandon) and ends
// its span, failed when err is set.
func (c *meshCall) finish(err error) {
	c.abandon()
	endMeshSpan(c.span, err)
}

// meshTracerName names the tracer of mesh request spans.
const meshTracerName = "github.com/a2agrpc/a2agrpc/client"

// meshOperationField is the oneof of a mesh request's operation.
var meshOperationField = (*meshv1.Request)(nil).ProtoReflect().Descriptor().Oneofs().ByName("operation")

// meshSpanNames are the names of the requests' client spans by the field
// number of their operation: as the server names its request spans, the
// Connect service and the operation's field name
// ("a2agrpc.mesh.v1.MeshService/send_message").
var meshSpanNames = func() map[protoreflect.FieldNumber]string {
	fields := meshOperationField.Fields()
	names := make(map[protoreflect.FieldNumber]string, fields.Len())
	for i := range fields.Len() {
		f := fields.Get(i)
		names[f.Number()] = meshv1.MeshService_ServiceDesc.ServiceName + "/" + string(f.Name())
	}
	return names
}()

// meshSpanName names the client span of a request. It is given a copy of
// the request's operation only, not the caller's template, so that the
// template stays off the heap when the request is not traced.
func meshSpanName(op *meshv1.Request) string {
	r := op.ProtoReflect()
	if f := r.WhichOneof(meshOperationField); f != nil {
		if name, ok := meshSpanNames[f.Number()]; ok {
			return name
		}
	}
	return meshv1.MeshService_ServiceDesc.ServiceName + "/unknown"
}

// endMeshSpan ends a request's span (nil: none), marking it failed with
// err's A2A reason when err is set. The message is left out: it may carry
// the agent's text.
func endMeshSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, string(a2agrpc.AsError(err).Reason))
	}
	span.End()
}

// meshFrameError decodes an error frame: the server's status, as on the gRPC
// binding.
func meshFrameError(st *spb.Status) error {
	if e := a2agrpc.FromStatus(status.FromProto(st)); e != nil {
		return e
	}
	return a2agrpc.NewError(a2agrpc.ReasonInternal, "client: mesh error frame with status OK")
}

func meshUnexpectedFrame(f *meshv1.Response) error {
	return a2agrpc.Errorf(a2agrpc.ReasonInternal, "client: unexpected mesh frame %T for request %d", f.GetResult(), f.GetRequestId())
}

// meshStreamError is why a Connect stream ended, as its requests in flight
// report it. An A2A error the server sent deliberately (shutting down,
// credentials refused) is passed on as it is; a clean end or a broken
// connection is UNAVAILABLE, since the requests were lost in transit and
// a new stream may well succeed.
func meshStreamError(err error) error {
	if errors.Is(err, io.EOF) {
		return errMeshEnded
	}
	if st, ok := status.FromError(err); ok && hasA2AErrorInfo(st) {
		return a2agrpc.FromStatus(st)
	}
	return a2agrpc.NewError(a2agrpc.ReasonUnavailable, "client: mesh stream broken").WithCause(err)
}
