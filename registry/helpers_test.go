package registry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait for something asynchronous; a passing test never
// waits this long.
const wait = 10 * time.Second

// fast are service options for tests: leases of 1 s are allowed and
// expired ones swept every 50 ms.
func fast(opts ...registry.Option) []registry.Option {
	return append([]registry.Option{registry.WithTTLBounds(100*time.Millisecond, time.Hour), registry.WithSweepInterval(50 * time.Millisecond)}, opts...)
}

// startRegistry serves a registry on loopback over an in-memory store (or
// cfg.Store) and returns it with a client; both stop when the test ends.
func startRegistry(t *testing.T, cfg registry.Config) (*registry.Server, *registry.Client) {
	t.Helper()
	if cfg.Store == nil {
		st := regstore.NewMemory()
		t.Cleanup(func() { st.Close() })
		cfg.Store = st
	}
	if cfg.Options == nil {
		cfg.Options = fast()
	}
	srv, err := registry.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("registry shutdown: %v", err)
		}
		if err := srv.Wait(); err != nil {
			t.Errorf("registry serving: %v", err)
		}
	})
	c := dial(t, srv.Addr())
	return srv, c
}

// dial connects a client closed when the test ends.
func dial(t *testing.T, addr string, opts ...grpc.DialOption) *registry.Client {
	t.Helper()
	c, err := registry.Dial(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialConn opens a plaintext gRPC connection closed when the test ends.
func dialConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// startAgent serves a real agent on loopback, shut down when the test ends
// (Shutdown may be called earlier).
func startAgent(t *testing.T, cfg host.Config) *host.Agent {
	t.Helper()
	if cfg.Card == nil {
		cfg.Card = &a2av1.AgentCard{Name: "echo", Description: "Echoes.", Version: "1.0.0",
			Skills: []*a2av1.AgentSkill{{Id: "echo", Name: "Echo", Description: "Echoes", Tags: []string{"test"}}}}
	}
	a, err := host.Start(echoExecutor, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return a
}

var echoExecutor = server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
	return w.Reply(server.TextPart(req.Text()))
})

// testCard is a card with one gRPC interface at a made-up address and the
// given skills.
func testCard(name, addr string, skills ...*a2av1.AgentSkill) *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name:                name,
		Description:         "A test agent.",
		Version:             "1.0.0",
		SupportedInterfaces: []*a2av1.AgentInterface{{Url: addr, ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: a2agrpc.ProtocolVersion}},
		DefaultInputModes:   []string{"text/plain"},
		DefaultOutputModes:  []string{"text/plain"},
		Skills:              skills,
	}
}

func skill(id string, tags ...string) *a2av1.AgentSkill {
	return &a2av1.AgentSkill{Id: id, Name: id, Description: id, Tags: tags}
}

func byCard(id string, card *a2av1.AgentCard, ttl time.Duration) *registryv1.RegisterAgentRequest {
	req := &registryv1.RegisterAgentRequest{AgentId: id, Source: &registryv1.RegisterAgentRequest_Card{Card: card}}
	if ttl != 0 {
		req.Ttl = durationpb.New(ttl)
	}
	return req
}

func mustRegister(t *testing.T, c *registry.Client, req *registryv1.RegisterAgentRequest) *registryv1.AgentRegistration {
	t.Helper()
	reg, err := c.Register(context.Background(), req)
	if err != nil {
		t.Fatalf("Register(%s): %v", req.GetAgentId(), err)
	}
	return reg
}

// eventually polls cond every 20 ms until it holds or wait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantReason fails unless err is an *a2agrpc.Error with reason r.
func wantReason(t *testing.T, err error, r a2agrpc.Reason) *a2agrpc.Error {
	t.Helper()
	var e *a2agrpc.Error
	if !errors.As(err, &e) || e.Reason != r {
		t.Fatalf("error = %v, want reason %s", err, r)
	}
	return e
}

// wantField fails unless err is INVALID_PARAMS naming field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	e := wantReason(t, err, a2agrpc.ReasonInvalidParams)
	if e.Metadata["field"] != field {
		t.Fatalf("error %v names field %q, want %q", err, e.Metadata["field"], field)
	}
}

// ids lists the agent ids of regs.
func ids(regs []*registryv1.AgentRegistration) []string {
	out := make([]string, 0, len(regs))
	for _, r := range regs {
		out = append(out, r.GetAgentId())
	}
	return out
}

// search collects every registration matching f, through all pages.
func search(t *testing.T, c *registry.Client, f *registryv1.AgentFilter, pageSize int32) []string {
	t.Helper()
	var out []*registryv1.AgentRegistration
	for r, err := range c.Search(context.Background(), f, pageSize) {
		if err != nil {
			t.Fatalf("Search(%v): %v", f, err)
		}
		out = append(out, r)
	}
	return ids(out)
}

// watcher collects a watch's events in the background.
type watcher struct {
	events chan *registryv1.WatchAgentsResponse
	errc   chan error
	stop   context.CancelFunc
}

func watch(t *testing.T, c *registry.Client, f *registryv1.AgentFilter) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{events: make(chan *registryv1.WatchAgentsResponse, 1024), errc: make(chan error, 1), stop: cancel}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range c.Watch(ctx, f) {
			if err != nil {
				w.errc <- err
				return
			}
			w.events <- ev
		}
		w.errc <- nil
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// next returns the next event, failing after wait.
func (w *watcher) next(t *testing.T) *registryv1.WatchAgentsResponse {
	t.Helper()
	select {
	case ev := <-w.events:
		return ev
	case err := <-w.errc:
		t.Fatalf("watch ended: %v", err)
	case <-time.After(wait):
		t.Fatal("timed out waiting for a watch event")
	}
	return nil
}

// expect reads events until one of type typ for agent id arrives, skipping
// others (UPDATED events of heartbeats and probes, say), and returns it.
func (w *watcher) expect(t *testing.T, typ registryv1.WatchEventType, id string) *registryv1.WatchAgentsResponse {
	t.Helper()
	var seen []string
	deadline := time.After(wait)
	for {
		select {
		case ev := <-w.events:
			if ev.GetType() == typ && ev.GetAgent().GetAgentId() == id {
				return ev
			}
			seen = append(seen, fmt.Sprintf("%s %s", ev.GetType(), ev.GetAgent().GetAgentId()))
		case err := <-w.errc:
			t.Fatalf("watch ended waiting for %s %s (saw %v): %v", typ, id, seen, err)
		case <-deadline:
			t.Fatalf("timed out waiting for %s %s; saw %v", typ, id, seen)
		}
	}
}
