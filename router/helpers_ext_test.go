package router_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Texts the test agents understand besides echo's (echo.Hold keeps a task
// WORKING until it is canceled).
const (
	slowText   = "/slow"   // WORKING, then COMPLETED once the pool's gate opens
	silentText = "/silent" // no event at all until the gate opens
	askText    = "/ask"    // INPUT_REQUIRED, every turn
)

// recorder counts, for every message id, the agents that executed it: the
// proof that the router never delivers a message twice.
type recorder struct {
	mu  sync.Mutex
	got map[string][]string
}

func (r *recorder) add(msgID, agent string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[msgID] = append(r.got[msgID], agent)
}

// ownerOf waits for msgID to reach an agent and returns that agent: a send
// that returns immediately answers before its execution has begun.
func (r *recorder) ownerOf(t *testing.T, msgID string) string {
	t.Helper()
	eventually(t, "message "+msgID+" to reach an agent", func() bool { return len(r.agentsOf(msgID)) > 0 })
	return r.agentsOf(msgID)[0]
}

// agentsOf returns the agents that executed msgID.
func (r *recorder) agentsOf(msgID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got[msgID]...)
}

// perAgent counts the executions of each agent.
func (r *recorder) perAgent() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[string]int{}
	for _, agents := range r.got {
		for _, a := range agents {
			n[a]++
		}
	}
	return n
}

// once fails the test unless every message id was executed exactly once.
func (r *recorder) once(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, agents := range r.got {
		if len(agents) != 1 {
			t.Errorf("message %s executed by %v, want exactly one agent once", id, agents)
		}
	}
}

// testAgent is one real agent (server/host, gRPC on loopback) behind a TCP
// proxy the test can cut, as a crash or a partition would: the calls in
// flight through it break, new ones are refused, the agent behind keeps
// its state.
type testAgent struct {
	name  string
	host  *host.Agent
	proxy *proxy
	card  *a2av1.AgentCard // the card the router gets: the proxy's address

	mu       sync.Mutex
	calls    map[string]int // gRPC method → calls received
	failNext map[string]int // gRPC method → calls to fail with UNAVAILABLE
	loseNext map[string]int // gRPC method → calls to serve, then answer UNAVAILABLE
}

func (a *testAgent) endpoint() router.Endpoint { return router.Endpoint{ID: a.name, Card: a.card} }

// callsOf is how many calls of method the agent received.
func (a *testAgent) callsOf(method string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[method]
}

// fail makes the next n calls of method fail with UNAVAILABLE before they
// reach the service (n < 0: all of them).
func (a *testAgent) fail(method string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failNext[method] = n
}

// lose makes the next n unary calls of method take effect and then fail
// with UNAVAILABLE, as when a connection breaks before the answer.
func (a *testAgent) lose(method string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.loseNext[method] = n
}

// intercept counts a call and says whether to fail it after serving it
// (lost) or before (the UNAVAILABLE error returned).
func (a *testAgent) intercept(method string) (lost bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls[method]++
	if n := a.failNext[method]; n != 0 {
		a.failNext[method] = n - 1
		return false, status.Error(codes.Unavailable, "injected failure")
	}
	if n := a.loseNext[method]; n != 0 {
		a.loseNext[method] = n - 1
		return true, nil
	}
	return false, nil
}

// agentSpec describes one agent of a pool.
type agentSpec struct {
	name   string
	skills []*a2av1.AgentSkill // default: the echo skill
	store  taskstore.Store     // default: its own in-memory store
}

// pool is a set of test agents sharing a recorder and a gate.
type pool struct {
	rec    *recorder
	gate   chan struct{} // closing it ends the slow and silent executions
	gateMu sync.Once
	agents []*testAgent
}

func (p *pool) open() { p.gateMu.Do(func() { close(p.gate) }) }

func (p *pool) endpoints() []router.Endpoint {
	var eps []router.Endpoint
	for _, a := range p.agents {
		eps = append(eps, a.endpoint())
	}
	return eps
}

func (p *pool) byName(name string) *testAgent {
	for _, a := range p.agents {
		if a.name == name {
			return a
		}
	}
	return nil
}

// startAgents starts one agent per spec.
func startAgents(t *testing.T, specs ...agentSpec) *pool {
	t.Helper()
	p := &pool{rec: &recorder{got: map[string][]string{}}, gate: make(chan struct{})}
	for _, s := range specs {
		p.agents = append(p.agents, startAgent(t, p, s))
	}
	return p
}

// startN starts n echo agents named a0, a1...
func startN(t *testing.T, n int, store taskstore.Store) *pool {
	specs := make([]agentSpec, n)
	for i := range specs {
		specs[i] = agentSpec{name: fmt.Sprintf("a%d", i), store: store}
	}
	return startAgents(t, specs...)
}

func startAgent(t *testing.T, p *pool, s agentSpec) *testAgent {
	t.Helper()
	a := &testAgent{name: s.name, calls: map[string]int{}, failNext: map[string]int{}, loseNext: map[string]int{}}
	exec := server.ExecutorFunc(func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		p.rec.add(req.Message.GetMessageId(), a.name)
		if req.Task != nil || req.Text() == askText {
			return w.RequireInput("tell me more")
		}
		switch req.Text() {
		case silentText:
			select {
			case <-p.gate:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			return nil
		case slowText:
			if err := w.Working("slow"); err != nil {
				return err
			}
			select {
			case <-p.gate:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			return nil
		}
		return echo.Executor.Execute(ctx, req, w)
	})
	card := echo.Card(nil)
	card.Name = s.name
	card.DefaultInputModes = []string{"text/plain", "application/json"}
	if s.skills != nil {
		card.Skills = s.skills
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		lost, err := a.intercept(path.Base(info.FullMethod))
		if err != nil {
			return nil, err
		}
		resp, err := next(ctx, req)
		if lost {
			return nil, status.Error(codes.Unavailable, "injected loss of the answer")
		}
		return resp, err
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if _, err := a.intercept(path.Base(info.FullMethod)); err != nil {
			return err
		}
		return next(srv, ss)
	}
	cfg := host.Config{
		HTTPAddr: "-", Card: card,
		GRPC: []grpcserver.Option{grpcserver.WithInterceptors([]grpc.UnaryServerInterceptor{unary}, []grpc.StreamServerInterceptor{stream})},
	}
	if s.store != nil {
		cfg.Handler = []server.Option{server.WithTaskStore(s.store)}
	}
	h, err := host.Start(exec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.host = h
	t.Cleanup(func() {
		p.open() // let slow executions end, or Shutdown waits for them
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	a.proxy = newProxy(t, h.GRPCAddr())
	a.card = proto.Clone(h.Card()).(*a2av1.AgentCard)
	for _, i := range a.card.GetSupportedInterfaces() {
		i.Url = a.proxy.addr
	}
	return a
}

// newRouter makes a router over res whose clients speak plain gRPC (the
// interceptors then see every call), closed when the test ends.
func newRouter(t *testing.T, res router.Resolver, opts ...router.Option) *router.Router {
	t.Helper()
	r, err := router.New(res, append([]router.Option{router.WithClientOptions(client.WithTransports(client.TransportGRPC))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

var echoSkill = &registryv1.AgentFilter{SkillId: "echo"}

var msgSeq atomic.Int64

// message is a user message with a fresh id.
func message(text string) *a2av1.SendMessageRequest {
	return &a2av1.SendMessageRequest{Message: &a2av1.Message{
		MessageId: fmt.Sprintf("m%d", msgSeq.Add(1)), Role: a2av1.Role_ROLE_USER,
		Parts: []*a2av1.Part{server.TextPart(text)},
	}}
}

// immediately asks for the task handle without waiting for the task.
func immediately(req *a2av1.SendMessageRequest) *a2av1.SendMessageRequest {
	req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	return req
}

// eventually polls cond every few milliseconds for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// breakerOf is the breaker state of endpoint id.
func breakerOf(r *router.Router, id string) router.BreakerState {
	for _, s := range r.Endpoints() {
		if s.ID == id {
			return s.Breaker
		}
	}
	return ""
}

// proxy forwards TCP connections to target until killed.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.kill()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.pipe(c)
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // killed meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	p.wg.Add(2)
	cp := func(dst, src net.Conn) {
		defer p.wg.Done()
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}
	go cp(c, up)
	go cp(up, c)
}

// kill closes the listener and every connection.
func (p *proxy) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// revive listens again on the same address.
func (p *proxy) revive() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ln, err = net.Listen("tcp", p.addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		p.t.Fatalf("relisten on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// isA2A fails the test unless err is an *a2agrpc.Error matching target.
func isA2A(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

// errDeadline matches DEADLINE_EXCEEDED errors (errors.Is compares reasons);
// package a2agrpc has no sentinel for it.
var errDeadline = a2agrpc.NewError(a2agrpc.ReasonDeadlineExceeded, "")
