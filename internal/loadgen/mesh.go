package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
)

// Mesh drives the a2agrpc mesh extension: one Connect stream per
// connection, every worker's calls multiplexed over it. Request ids carry
// the worker number in their high 32 bits, so replies are routed without a
// lookup table.
type Mesh struct {
	conns    []*grpc.ClientConn
	sessions []*meshSession
	inbox    []chan *meshv1.Response // per worker
	current  []atomic.Uint64         // per worker: the request it waits for
	counter  []uint64                // per worker, touched only by its worker
}

type meshSession struct {
	mu     sync.Mutex // serialises Send
	stream grpc.BidiStreamingClient[meshv1.Request, meshv1.Response]
	cancel context.CancelFunc
	err    chan error
}

// NewMesh opens n mesh streams to an a2agrpc gRPC endpoint for workers
// workers.
func NewMesh(addr string, n, workers int) (*Mesh, error) {
	conns, err := dial(addr, n)
	if err != nil {
		return nil, err
	}
	m := &Mesh{conns: conns, counter: make([]uint64, workers), current: make([]atomic.Uint64, workers)}
	for range workers {
		m.inbox = append(m.inbox, make(chan *meshv1.Response, 16))
	}
	for _, c := range conns {
		ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(context.Background(), versionMD))
		stream, err := meshv1.NewMeshServiceClient(c).Connect(ctx)
		if err != nil {
			cancel()
			m.Close()
			return nil, err
		}
		s := &meshSession{stream: stream, cancel: cancel, err: make(chan error, 1)}
		m.sessions = append(m.sessions, s)
		go m.route(s)
	}
	return m, nil
}

func (m *Mesh) route(s *meshSession) {
	for {
		r, err := s.stream.Recv()
		if err != nil {
			s.err <- err
			return
		}
		if r.GetRequestId() == 0 {
			continue // heartbeat
		}
		// Frames of a call its worker has abandoned are dropped, so they
		// can neither confuse its next call nor block this stream.
		w := int(r.GetRequestId() >> 32)
		if w >= len(m.inbox) || m.current[w].Load() != r.GetRequestId() {
			continue
		}
		select {
		case m.inbox[w] <- r:
		default:
		}
	}
}

// Call implements [Target].
func (m *Mesh) Call(ctx context.Context, worker int, mode Mode, onEvent func()) error {
	s := m.sessions[worker%len(m.sessions)]
	m.counter[worker]++
	id := uint64(worker)<<32 | m.counter[worker]&0xffffffff
	m.current[worker].Store(id)
	for len(m.inbox[worker]) > 0 { // leftovers of an abandoned call
		<-m.inbox[worker]
	}
	req := &meshv1.Request{RequestId: id}
	if mode == Unary {
		req.Operation = &meshv1.Request_SendMessage{SendMessage: newMessage()}
	} else {
		req.Operation = &meshv1.Request_SendStreamingMessage{SendStreamingMessage: newMessage()}
	}
	s.mu.Lock()
	err := s.stream.Send(req)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	var check streamCheck
	for {
		var r *meshv1.Response
		select {
		case r = <-m.inbox[worker]:
		case err := <-s.err:
			s.err <- err
			return fmt.Errorf("mesh stream ended: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.GetRequestId() != id {
			return fmt.Errorf("reply for request %d while waiting for %d", r.GetRequestId(), id)
		}
		switch res := r.GetResult().(type) {
		case *meshv1.Response_Error:
			return status.ErrorProto(res.Error)
		case *meshv1.Response_SendMessage:
			return checkSendResponse(res.SendMessage)
		case *meshv1.Response_Event:
			onEvent()
			if err := check.add(res.Event); err != nil {
				return err
			}
		case *meshv1.Response_End:
			return check.done()
		default:
			return fmt.Errorf("unexpected frame %T", res)
		}
	}
}

// Close implements [Target].
func (m *Mesh) Close() error {
	for _, s := range m.sessions {
		s.mu.Lock()
		_ = s.stream.CloseSend()
		s.mu.Unlock()
		s.cancel()
	}
	return closeAll(m.conns)
}
