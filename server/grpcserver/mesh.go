package grpcserver

import (
	"context"
	"errors"
	"io"
	"iter"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/a2agrpc/a2agrpc"
	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// MeshExtensionURI identifies the mesh extension in an Agent Card's
// capabilities.extensions.
const MeshExtensionURI = "https://a2agrpc.dev/ext/mesh/v1"

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

// mesh implements meshv1.MeshServiceServer over a server.Handler.
type mesh struct {
	meshv1.UnimplementedMeshServiceServer
	h        *server.Handler
	cfg      meshConfig
	draining *drain
}

// session is one Connect stream. Only the Connect goroutine touches
// inFlight; requests report completion through done.
type session struct {
	m        *mesh
	ctx      context.Context // ends with the stream
	stop     context.CancelCauseFunc
	out      chan *meshv1.Response
	done     chan uint64
	inFlight map[uint64]context.CancelCauseFunc
	base     *server.CallInfo
}

// Connect serves one mesh stream until the client closes its side and every
// request has finished, the client goes away, or the server drains.
func (m *mesh) Connect(stream grpc.BidiStreamingServer[meshv1.Request, meshv1.Response]) error {
	ctx, stop := context.WithCancelCause(stream.Context())
	defer stop(nil)
	s := &session{
		m: m, ctx: ctx, stop: stop,
		out:      make(chan *meshv1.Response, m.cfg.sendQueue),
		done:     make(chan uint64, m.cfg.maxInFlight),
		inFlight: make(map[uint64]context.CancelCauseFunc),
		base:     server.CallInfoFrom(stream.Context()),
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
		if (halfClosed || draining) && len(s.inFlight) == 0 {
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
				break loop
			}
			halfClosed, frames = true, nil
		case id := <-s.done:
			delete(s.inFlight, id)
		case <-drainSig:
			draining, drainSig = true, nil
		case <-ctx.Done():
			result = context.Cause(ctx)
			break loop
		}
	}
	// Let every request finish or notice the end, then flush what they sent.
	for _, cancel := range s.inFlight {
		cancel(context.Canceled)
	}
	for range len(s.inFlight) {
		<-s.done
	}
	close(s.out)
	if err := <-sent; err != nil && result == nil {
		result = err
	}
	return wireErr(result)
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

func (s *session) fail(id uint64, err error) {
	s.emit(&meshv1.Response{RequestId: id, Result: &meshv1.Response_Error{Error: a2agrpc.AsError(err).GRPCStatus().Proto()}})
}

// dispatch handles one frame on the Connect goroutine.
func (s *session) dispatch(f *meshv1.Request, draining bool) {
	id := f.GetRequestId()
	switch f.GetOperation().(type) {
	case *meshv1.Request_Ping:
		s.emit(&meshv1.Response{RequestId: id, Result: &meshv1.Response_Pong{Pong: &emptypb.Empty{}}})
		return
	case *meshv1.Request_Cancel:
		if cancel, ok := s.inFlight[id]; ok {
			cancel(errPeerCanceled)
		}
		return
	case nil:
		s.fail(id, errNoOperation)
		return
	}
	switch {
	case id == 0:
		s.fail(id, errZeroID)
	case s.inFlight[id] != nil:
		s.fail(id, errDuplicateID)
	case draining:
		s.fail(id, errStreamDrained)
	case len(s.inFlight) >= s.m.cfg.maxInFlight:
		s.fail(id, a2agrpc.Errorf(a2agrpc.ReasonResourceExhausted,
			"too many requests in flight on this stream (limit %d); wait for some to finish", s.m.cfg.maxInFlight))
	default:
		ctx, cancel := context.WithCancelCause(s.ctx)
		s.inFlight[id] = cancel
		info := &server.CallInfo{Version: s.base.Version, Caller: s.base.Caller,
			Extensions: server.SplitList(append(slices.Clone(s.base.Extensions), f.GetExtensions()...)...)}
		go s.serve(server.WithCallInfo(ctx, info), cancel, info, f)
	}
}

// serve runs one request and reports its completion.
func (s *session) serve(ctx context.Context, cancel context.CancelCauseFunc, info *server.CallInfo, f *meshv1.Request) {
	id := f.GetRequestId()
	defer func() { cancel(nil); s.done <- id }()
	first := true
	reply := func(r *meshv1.Response) bool {
		r.RequestId = id
		if first {
			r.ActivatedExtensions, first = info.Activated(), false
		}
		return s.emit(r)
	}
	h := s.m.h
	unary := func(msg proto.Message, err error, wrap func(proto.Message) *meshv1.Response) {
		if err != nil {
			s.fail(id, err)
			return
		}
		reply(wrap(msg))
	}
	switch op := f.GetOperation().(type) {
	case *meshv1.Request_SendMessage:
		r, err := h.SendMessage(ctx, op.SendMessage)
		unary(r, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_SendMessage{SendMessage: m.(*a2av1.SendMessageResponse)}}
		})
	case *meshv1.Request_GetTask:
		r, err := h.GetTask(ctx, op.GetTask)
		unary(r, err, taskResult)
	case *meshv1.Request_CancelTask:
		r, err := h.CancelTask(ctx, op.CancelTask)
		unary(r, err, taskResult)
	case *meshv1.Request_ListTasks:
		r, err := h.ListTasks(ctx, op.ListTasks)
		unary(r, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_ListTasks{ListTasks: m.(*a2av1.ListTasksResponse)}}
		})
	case *meshv1.Request_CreateTaskPushNotificationConfig:
		r, err := h.CreateTaskPushNotificationConfig(ctx, op.CreateTaskPushNotificationConfig)
		unary(r, err, pushConfigResult)
	case *meshv1.Request_GetTaskPushNotificationConfig:
		r, err := h.GetTaskPushNotificationConfig(ctx, op.GetTaskPushNotificationConfig)
		unary(r, err, pushConfigResult)
	case *meshv1.Request_ListTaskPushNotificationConfigs:
		r, err := h.ListTaskPushNotificationConfigs(ctx, op.ListTaskPushNotificationConfigs)
		unary(r, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_PushConfigs{PushConfigs: m.(*a2av1.ListTaskPushNotificationConfigsResponse)}}
		})
	case *meshv1.Request_DeleteTaskPushNotificationConfig:
		r, err := h.DeleteTaskPushNotificationConfig(ctx, op.DeleteTaskPushNotificationConfig)
		unary(r, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_Deleted{Deleted: m.(*emptypb.Empty)}}
		})
	case *meshv1.Request_GetExtendedAgentCard:
		r, err := h.GetExtendedAgentCard(ctx, op.GetExtendedAgentCard)
		unary(r, err, func(m proto.Message) *meshv1.Response {
			return &meshv1.Response{Result: &meshv1.Response_AgentCard{AgentCard: m.(*a2av1.AgentCard)}}
		})
	case *meshv1.Request_SendStreamingMessage:
		s.stream(ctx, id, reply, false, func(ctx context.Context) iter.Seq2[server.Event, error] {
			return h.SendStreamingMessage(ctx, op.SendStreamingMessage)
		})
	case *meshv1.Request_SubscribeToTask:
		s.stream(ctx, id, reply, true, func(ctx context.Context) iter.Seq2[server.Event, error] {
			return h.SubscribeToTask(ctx, op.SubscribeToTask)
		})
	}
}

func (s *session) stream(ctx context.Context, id uint64, reply func(*meshv1.Response) bool, following bool, open func(context.Context) iter.Seq2[server.Event, error]) {
	if following {
		var stop func()
		ctx, stop = s.m.draining.follow(ctx)
		defer stop()
	}
	for ev, err := range open(ctx) {
		if err != nil {
			s.fail(id, err)
			return
		}
		if !reply(&meshv1.Response{Sequence: ev.Seq, Result: &meshv1.Response_Event{Event: ev.Response}}) {
			return
		}
	}
	reply(&meshv1.Response{Result: &meshv1.Response_End{End: &emptypb.Empty{}}})
}

func taskResult(m proto.Message) *meshv1.Response {
	return &meshv1.Response{Result: &meshv1.Response_Task{Task: m.(*a2av1.Task)}}
}

func pushConfigResult(m proto.Message) *meshv1.Response {
	return &meshv1.Response{Result: &meshv1.Response_PushConfig{PushConfig: m.(*a2av1.TaskPushNotificationConfig)}}
}
