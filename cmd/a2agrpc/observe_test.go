package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeLogsNoSecrets runs serve with API-key authentication and JSON
// logs, and makes calls that carry credentials — right and wrong, as
// headers, metadata and bearer tokens — and message bodies, on every
// binding, some failing. At the default level the failures are logged (so
// the check is not vacuous) and at debug level every call is; at neither
// does a credential or a body appear.
func TestServeLogsNoSecrets(t *testing.T) {
	keyFile, apiKey := newAPIKey(t, t.TempDir(), "logger-test")
	const (
		body        = "BODY-MARKER-do-not-log"
		wrongKey    = "a2a_WRONG-KEY-do-not-log"
		bearer      = "BEARER-do-not-log"
		metadataVal = "METADATA-do-not-log"
	)
	secrets := []string{apiKey, body, wrongKey, bearer, metadataVal}

	for _, level := range []string{"info", "debug"} {
		t.Run(level, func(t *testing.T) {
			var logs syncBuffer
			lines, stop := serveLogged(t, 2, &logs, "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", "memory",
				"-api-keys", keyFile, "-log-format", "json", "-log-level", level)
			base := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(strings.Join(lines, "\n"))
			ctx := context.Background()

			callWithSecrets(t, base, []string{client.TransportGRPC, client.TransportREST, client.TransportJSONRPC, client.TransportMesh},
				secretCalls{apiKey: apiKey, wrongKey: wrongKey, bearer: bearer, body: body})
			// A refused gRPC call with a bearer token and extra metadata.
			grpcAddr := regexp.MustCompile(`on gRPC (\S+)`).FindStringSubmatch(lines[0])[1]
			conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			mctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+bearer, "x-api-key", wrongKey, "x-custom", metadataVal)
			if _, err := a2av1.NewA2AServiceClient(conn).GetTask(mctx, &a2av1.GetTaskRequest{Id: "no-such-task"}); err == nil {
				t.Error("a gRPC call with wrong credentials succeeded")
			}
			conn.Close()
			if err := stop(); err != nil {
				t.Fatal(err)
			}

			// Not vacuous: the refused and failed calls are there, as JSON
			// lines with request ids.
			out := logs.String()
			failed, ok := loggedCalls(t, out, secrets)
			if failed < 4 {
				t.Errorf("%d failed calls logged at level %s, want the refused and not-found ones:\n%s", failed, level, out)
			}
			if level == "info" && ok > 0 {
				t.Errorf("%d successful calls logged at level info, want none", ok)
			}
			if level == "debug" && ok < 4 {
				t.Errorf("%d successful calls logged at level debug, want every one", ok)
			}
		})
	}
}

// loggedCalls checks that the JSON log out holds none of secrets and
// counts its call lines (those with a request id) by outcome.
func loggedCalls(t *testing.T, out string, secrets []string) (failed, ok int) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log holds %q:\n%s", s, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["request_id"] == nil {
			continue
		}
		if rec["grpc.code"] == "OK" || rec["http.status"] == float64(200) {
			ok++
		} else {
			failed++
		}
	}
	return failed, ok
}

// secretCalls are the credentials and body callWithSecrets uses.
type secretCalls struct{ apiKey, wrongKey, bearer, body string }

// callWithSecrets makes calls that carry credentials and a message body
// against the agent at base: with the right API key on each transport, a
// send (with the body) and a failing GetTask; then HTTP sends with a wrong
// API key and with a bearer token, which must be refused with 401.
func callWithSecrets(t *testing.T, base string, transports []string, c secretCalls) {
	t.Helper()
	ctx := context.Background()
	for _, tr := range transports {
		cl, err := client.New(ctx, base, client.WithTransports(tr), client.WithAPIKey("", c.apiKey))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.SendMessage(ctx, &a2av1.SendMessageRequest{Message: &a2av1.Message{
			MessageId: "m-" + tr, Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: c.body}}}}}); err != nil {
			t.Errorf("%s send: %v", tr, err)
		}
		if _, err := cl.GetTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"}); err == nil {
			t.Errorf("%s: GetTask of an unknown task succeeded", tr)
		}
		cl.Close()
	}
	for _, h := range []http.Header{{"X-Api-Key": {c.wrongKey}}, {"Authorization": {"Bearer " + c.bearer}}} {
		req, _ := http.NewRequest(http.MethodPost, base+"/message:send", strings.NewReader(`{"message":{"messageId":"x","role":"ROLE_USER","parts":[{"text":"`+c.body+`"}]}}`))
		req.Header = h
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("wrong credentials %v: %s, want 401", h, resp.Status)
		}
	}
}
