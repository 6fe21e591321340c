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

			// Authorized calls with a body on every transport, and a
			// failing one (unknown task).
			for _, tr := range []string{client.TransportGRPC, client.TransportREST, client.TransportJSONRPC, client.TransportMesh} {
				c, err := client.New(ctx, base, client.WithTransports(tr), client.WithAPIKey("", apiKey))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: &a2av1.Message{
					MessageId: "m-" + tr, Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: body}}}}}); err != nil {
					t.Errorf("%s send: %v", tr, err)
				}
				if _, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"}); err == nil {
					t.Errorf("%s: GetTask of an unknown task succeeded", tr)
				}
				c.Close()
			}
			// Refused credentials over HTTP, and a refused gRPC call with a
			// bearer token and extra metadata.
			for _, h := range []http.Header{{"X-Api-Key": {wrongKey}}, {"Authorization": {"Bearer " + bearer}}} {
				req, _ := http.NewRequest(http.MethodPost, base+"/message:send", strings.NewReader(`{"message":{"messageId":"x","role":"ROLE_USER","parts":[{"text":"`+body+`"}]}}`))
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

			out := logs.String()
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("the log at level %s holds %q:\n%s", level, s, out)
				}
			}
			// Not vacuous: the refused and failed calls are there, as JSON
			// lines with request ids.
			var failed, ok int
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
