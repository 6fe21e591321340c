package registry_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/internal/sse"
	"github.com/a2agrpc/a2agrpc/registry"
)

// restCall sends a request with an optional JSON body and API key and
// returns the status and body.
func restCall(t *testing.T, method, url, body, apiKey string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set("X-API-Key", apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// aip193 is the error body of the HTTP binding.
type aip193 struct {
	Error struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Message string `json:"message"`
		Details []struct {
			Type     string            `json:"@type"`
			Reason   string            `json:"reason"`
			Metadata map[string]string `json:"metadata"`
		} `json:"details"`
	} `json:"error"`
}

// wantHTTPError checks an AIP-193 error response.
func wantHTTPError(t *testing.T, code int, body []byte, wantCode int, wantStatus, wantReason string) aip193 {
	t.Helper()
	var e aip193
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if code != wantCode || e.Error.Code != wantCode || e.Error.Status != wantStatus || e.Error.Message == "" {
		t.Fatalf("HTTP %d %s, want %d %s", code, body, wantCode, wantStatus)
	}
	for _, d := range e.Error.Details {
		if strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") && d.Reason == wantReason {
			return e
		}
	}
	t.Fatalf("error body %s lacks ErrorInfo reason %s", body, wantReason)
	return e
}

func TestREST(t *testing.T) {
	// Every call is logged (and discarded): the call log must not get in
	// the way of SSE flushing.
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, _ := startRegistry(t, registry.Config{Logger: logger})
	base := srv.URL() + "/v1/agents"
	cardJSON, err := protojson.Marshal(testCard("rest", "127.0.0.1:7801", skill("extract", "pdf")))
	if err != nil {
		t.Fatal(err)
	}

	events := openSSE(t, srv.URL()+registry.WatchPath+"?filter.skillId=extract", "")
	if ev := events.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_SYNCED {
		t.Fatalf("first SSE event = %v", ev)
	}

	code, body := restCall(t, http.MethodPost, base, `{"agentId":"r1","ttl":"20s","labels":{"zone":"a"},"card":`+string(cardJSON)+`}`, "")
	reg := &registryv1.AgentRegistration{}
	if code != http.StatusOK || protojson.Unmarshal(body, reg) != nil || reg.GetAgentId() != "r1" || reg.GetTtl().AsDuration().Seconds() != 20 {
		t.Fatalf("POST /v1/agents: %d %s", code, body)
	}
	if ev := events.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED || ev.GetAgent().GetAgentId() != "r1" {
		t.Fatalf("SSE event after registering = %v", ev)
	}

	code, body = restCall(t, http.MethodGet, base+"/r1", "", "")
	got := &registryv1.AgentRegistration{}
	if code != http.StatusOK || protojson.Unmarshal(body, got) != nil || !proto.Equal(got, reg) {
		t.Fatalf("GET /v1/agents/r1: %d %s", code, body)
	}
	for _, q := range []string{"filter.skillId=extract", "filter.skill_id=extract&filter.tag=pdf", "filter.protocolBinding=GRPC&pageSize=1"} {
		code, body = restCall(t, http.MethodGet, base+"?"+q, "", "")
		page := &registryv1.SearchAgentsResponse{}
		if code != http.StatusOK || protojson.Unmarshal(body, page) != nil || len(page.GetAgents()) != 1 {
			t.Fatalf("GET /v1/agents?%s: %d %s", q, code, body)
		}
	}
	code, body = restCall(t, http.MethodGet, base+"?filter.skillId=translate", "", "")
	if code != http.StatusOK || strings.Contains(string(body), "r1") {
		t.Fatalf("search for another skill: %d %s", code, body)
	}
	if code, body = restCall(t, http.MethodPost, base+"/r1:heartbeat", "", ""); code != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", code, body)
	}
	if ev := events.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_UPDATED {
		t.Fatalf("SSE event after a heartbeat = %v", ev)
	}
	if code, body = restCall(t, http.MethodDelete, base+"/r1", "", ""); code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if ev := events.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED || ev.GetReason() != "deregistered" {
		t.Fatalf("SSE event after deregistering = %v", ev)
	}

	code, body = restCall(t, http.MethodGet, base+"/r1", "", "")
	e := wantHTTPError(t, code, body, http.StatusNotFound, "NOT_FOUND", "AGENT_NOT_FOUND")
	if !strings.Contains(e.Error.Message, "r1") {
		t.Fatalf("message %q does not name the agent", e.Error.Message)
	}
	code, body = restCall(t, http.MethodPost, base, `{"card": {`, "")
	wantHTTPError(t, code, body, http.StatusBadRequest, "INVALID_ARGUMENT", "PARSE_ERROR")
	code, body = restCall(t, http.MethodPost, base, `{"agentId":"no spaces","card":`+string(cardJSON)+`}`, "")
	if e := wantHTTPError(t, code, body, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_PARAMS"); e.Error.Details[0].Metadata["field"] != "agentId" {
		t.Fatalf("details = %+v", e.Error.Details)
	}
	code, body = restCall(t, http.MethodGet, base+"?pageToken=nonsense", "", "")
	wantHTTPError(t, code, body, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_PARAMS")
	code, body = restCall(t, http.MethodGet, srv.URL()+"/v2/elsewhere", "", "")
	wantHTTPError(t, code, body, http.StatusNotFound, "UNIMPLEMENTED", "METHOD_NOT_FOUND")
	code, body = restCall(t, http.MethodPost, base, strings.Repeat(" ", 2<<20)+"{}", "")
	if code < 400 || code >= 500 {
		t.Fatalf("an oversized body: %d %s", code, body)
	}
}

func TestRESTAuth(t *testing.T) {
	authn, keys := apiKeyAuth(t, "alice")
	srv, _ := startRegistry(t, registry.Config{Auth: authn})
	code, body := restCall(t, http.MethodGet, srv.URL()+"/v1/agents", "", "")
	wantHTTPError(t, code, body, http.StatusUnauthorized, "UNAUTHENTICATED", "UNAUTHENTICATED")
	code, body = restCall(t, http.MethodGet, srv.URL()+registry.WatchPath, "", "")
	wantHTTPError(t, code, body, http.StatusUnauthorized, "UNAUTHENTICATED", "UNAUTHENTICATED")
	cardJSON, _ := protojson.Marshal(testCard("rest", "127.0.0.1:7802"))
	code, body = restCall(t, http.MethodPost, srv.URL()+"/v1/agents", `{"agentId":"mine","card":`+string(cardJSON)+`}`, keys["alice"])
	if code != http.StatusOK || !strings.Contains(string(body), `"owner":"apikey:alice"`) {
		t.Fatalf("authenticated POST: %d %s", code, body)
	}
	events := openSSE(t, srv.URL()+registry.WatchPath, keys["alice"])
	if ev := events.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED || ev.GetAgent().GetAgentId() != "mine" {
		t.Fatalf("first SSE event = %v", ev)
	}
}

// Shutdown ends SSE watches with an UNAVAILABLE error event.
func TestShutdownEndsSSE(t *testing.T) {
	srv, _ := startRegistry(t, registry.Config{})
	events := openSSE(t, srv.URL()+registry.WatchPath, "")
	events.next(t) // SYNCED
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := events.r.Next()
	if err != nil || m.Event != "error" {
		t.Fatalf("after Shutdown: %+v, %v", m, err)
	}
	wantHTTPError(t, http.StatusServiceUnavailable, m.Data, http.StatusServiceUnavailable, "UNAVAILABLE", "UNAVAILABLE")
}

// sseStream reads a watch over SSE.
type sseStream struct {
	r      *sse.Reader
	cancel context.CancelFunc
}

func openSSE(t *testing.T, url, apiKey string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if apiKey != "" {
		req.Header.Set("X-API-Key", apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return &sseStream{r: sse.NewReader(resp.Body, 1<<20), cancel: cancel}
}

// next reads the next event, which must be a data event.
func (s *sseStream) next(t *testing.T) *registryv1.WatchAgentsResponse {
	t.Helper()
	timeout := time.AfterFunc(wait, s.cancel) // a missing event ends the read
	m, err := s.r.Next()
	timeout.Stop()
	if err != nil {
		t.Fatalf("reading SSE: %v", err)
	}
	if m.Event != "" {
		t.Fatalf("SSE event %q: %s", m.Event, m.Data)
	}
	ev := &registryv1.WatchAgentsResponse{}
	if err := protojson.Unmarshal(m.Data, ev); err != nil {
		t.Fatalf("SSE data %s: %v", m.Data, err)
	}
	return ev
}
