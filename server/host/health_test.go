package host_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// pingedStore is the in-memory store made to look like one kept outside
// the process: it answers pings, and the test decides whether they
// succeed and can hold one in flight.
type pingedStore struct {
	*taskstore.Memory
	down  atomic.Bool
	pings atomic.Int64 // pings finished

	mu      sync.Mutex
	held    chan struct{} // while set, Ping waits for it to close
	entered chan struct{} // gets a value when a held Ping has begun
}

var _ taskstore.Pinger = (*pingedStore)(nil)

func (s *pingedStore) Ping(ctx context.Context) error {
	defer s.pings.Add(1)
	s.mu.Lock()
	held, entered := s.held, s.entered
	s.mu.Unlock()
	if held != nil {
		entered <- struct{}{}
		select {
		case <-held:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.down.Load() {
		return errors.New("connection refused")
	}
	return nil
}

// hold makes the next pings wait until release is called.
func (s *pingedStore) hold() (entered <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held, s.entered = make(chan struct{}), make(chan struct{}, 1)
	held := s.held
	return s.entered, func() {
		s.mu.Lock()
		s.held = nil
		s.mu.Unlock()
		close(held)
	}
}

// healthOf reads grpc.health.v1 over conn, for the server as a whole and
// for the A2A service, and returns the first status that differs from
// want (want itself when both match). The two are set one after the
// other, so while they change a reader may see them differ.
func healthOf(t *testing.T, conn *grpc.ClientConn, want healthpb.HealthCheckResponse_ServingStatus) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	hc := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", a2av1.A2AService_ServiceDesc.ServiceName} {
		r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("health %q: %v", svc, err)
		}
		if r.GetStatus() != want {
			return r.GetStatus()
		}
	}
	return want
}

// waitHealth polls until gRPC health reports want.
func waitHealth(t *testing.T, conn *grpc.ClientConn, want healthpb.HealthCheckResponse_ServingStatus, why string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got := healthOf(t, conn, want)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gRPC health stays %v, want %v", why, got, want)
		}
	}
}

// TestHealthFollowsStore: gRPC health goes NOT_SERVING while the task
// store does not answer its pings and back to SERVING when it does, calls
// being answered all along; after Quiesce it stays NOT_SERVING although
// the store answers again, including for a ping that was in flight when
// Quiesce ran.
func TestHealthFollowsStore(t *testing.T) {
	store := &pingedStore{Memory: taskstore.NewMemory()}
	a := start(t, echo.Executor, host.Config{
		AdminAddr: "127.0.0.1:0", HealthInterval: 10 * time.Millisecond,
		Handler: []server.Option{server.WithTaskStore(store)},
	})
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + a.AdminAddr() + host.ReadyzPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	for deadline := time.Now().Add(5 * time.Second); store.pings.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the store is never pinged")
		}
	}
	if got := healthOf(t, conn, healthpb.HealthCheckResponse_SERVING); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health with the store up: %v", got)
	}

	store.down.Store(true)
	waitHealth(t, conn, healthpb.HealthCheckResponse_NOT_SERVING, "store down")
	if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "task store: connection refused") {
		t.Errorf("/readyz with the store down: %d %q", code, body)
	}

	store.down.Store(false)
	waitHealth(t, conn, healthpb.HealthCheckResponse_SERVING, "store up again")
	if code, _ := readyz(); code != http.StatusOK {
		t.Errorf("/readyz with the store up again: %d", code)
	}

	// Quiesce while a successful ping is in flight: its result lands
	// after Quiesce and must not turn health back on.
	entered, release := store.hold()
	<-entered
	a.Quiesce()
	if got := healthOf(t, conn, healthpb.HealthCheckResponse_NOT_SERVING); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("gRPC health right after Quiesce: %v", got)
	}
	n := store.pings.Load()
	release()
	for deadline := time.Now().Add(5 * time.Second); store.pings.Load() == n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the held ping never finished")
		}
	}
	// Several probe intervals later, still off.
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if got := healthOf(t, conn, healthpb.HealthCheckResponse_NOT_SERVING); got != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("gRPC health %v after Quiesce with the store up, want NOT_SERVING", got)
		}
	}
	if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz after Quiesce: %d %q", code, body)
	}
	// Calls are still answered.
	c := dial(t, context.Background(), a.URL(), client.TransportGRPC)
	if _, err := c.SendMessage(context.Background(), userMessage("still served")); err != nil {
		t.Errorf("a call after Quiesce failed: %v", err)
	}
}

// TestHealthProbeOff: a negative HealthInterval leaves gRPC health alone
// although the store is down (readiness still pings it).
func TestHealthProbeOff(t *testing.T) {
	store := &pingedStore{Memory: taskstore.NewMemory()}
	store.down.Store(true)
	a := start(t, echo.Executor, host.Config{
		AdminAddr: "127.0.0.1:0", HealthInterval: -1,
		Handler: []server.Option{server.WithTaskStore(store)},
	})
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(50 * time.Millisecond)
	if got := healthOf(t, conn, healthpb.HealthCheckResponse_SERVING); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health with the probe off: %v, want SERVING", got)
	}
	if n := store.pings.Load(); n != 0 {
		t.Errorf("%d pings with the probe off", n)
	}
	if err := a.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Ready with the store down: %v", err)
	}
}
