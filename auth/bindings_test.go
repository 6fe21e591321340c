package auth_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/devcert"
	"github.com/a2agrpc/a2agrpc/mtls"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
	"github.com/a2agrpc/a2agrpc/server/webhook"
)

const (
	trustDomain = "spiffe://test.local/agent/"
	issuer      = "https://issuer.test.local"
	audience    = "a2a://echo"
	tokenKID    = "signer"
)

// bed is an agent served on gRPC (with the mesh stream) and HTTPS (REST,
// JSON-RPC, the card) behind mutual TLS, bearer JWTs and API keys.
type bed struct {
	ca, otherCA *devcert.CA
	grpcAddr    string
	httpURL     string
	tokenKey    *ecdsa.PrivateKey
	apiKey      string
	certs       map[string]tls.Certificate
	// The verifiers behind the servers, for benchmarks.
	peers  *mtls.Reloader
	bearer *auth.Bearer
	keys   *auth.APIKeys
	caFile string
}

type bedOptions struct {
	anyOf     bool
	rateLimit float64
	burst     int
	failures  int // auth.Config.FailuresPerMinute
}

func newBed(t testing.TB, o bedOptions) *bed {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	b := &bed{certs: map[string]tls.Certificate{}}
	var err error
	if b.ca, err = devcert.NewCA("test CA", now.Add(-time.Hour), now.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b.otherCA, err = devcert.NewCA("other CA", now.Add(-time.Hour), now.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := b.ca.Issue(devcert.Leaf{CommonName: "server", IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := mtls.Files{Cert: write("server.pem", certPEM), Key: write("server-key.pem", keyPEM), CA: write("ca.pem", b.ca.CertPEM)}
	b.caFile = files.CA
	leaf := func(ca *devcert.CA, name string, notBefore, notAfter time.Time) {
		c, err := ca.TLSCertificate(devcert.Leaf{CommonName: name, URIs: []string{trustDomain + name}, Client: true, NotBefore: notBefore, NotAfter: notAfter})
		if err != nil {
			t.Fatal(err)
		}
		b.certs[name] = c
	}
	leaf(b.ca, "alice", time.Time{}, time.Time{})
	leaf(b.ca, "bob", time.Time{}, time.Time{})
	leaf(b.otherCA, "forger", time.Time{}, time.Time{})
	leaf(b.ca, "expired", now.Add(-2*time.Hour), now.Add(-time.Hour))
	stranger, err := b.ca.TLSCertificate(devcert.Leaf{CommonName: "stranger", URIs: []string{"spiffe://evil.local/agent/stranger"}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	b.certs["stranger"] = stranger
	// A certificate whose requester chose a CN that looks like alice's
	// SPIFFE ID: it must name nobody.
	spoof, err := b.ca.TLSCertificate(devcert.Leaf{CommonName: trustDomain + "alice", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	b.certs["cn-spoof"] = spoof

	if b.tokenKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&b.tokenKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := write(tokenKID+".pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	bearer, err := auth.NewBearer(context.Background(), auth.BearerConfig{KeyFiles: []string{keyFile}, Issuer: issuer, Audience: []string{audience}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bearer.Close)
	if b.apiKey, err = auth.NewAPIKey(); err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseAPIKeys(strings.NewReader("ci-robot " + auth.HashAPIKey(b.apiKey) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	reloader, err := mtls.NewReloader(files)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reloader.Close() })
	allow, err := mtls.NewAllowList(trustDomain + "*")
	if err != nil {
		t.Fatal(err)
	}
	b.peers, b.bearer, b.keys = reloader, bearer, keys
	authn, err := auth.New(auth.Config{Peers: reloader, Allow: allow, Bearer: bearer, APIKeys: keys, AnyOf: o.anyOf, FailuresPerMinute: o.failures})
	if err != nil {
		t.Fatal(err)
	}

	glis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.grpcAddr, b.httpURL = glis.Addr().String(), "https://"+hlis.Addr().String()
	card := echo.Card([]*a2av1.AgentInterface{
		{Url: b.grpcAddr, ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: a2agrpc.ProtocolVersion},
		{Url: b.httpURL, ProtocolBinding: a2agrpc.BindingREST, ProtocolVersion: a2agrpc.ProtocolVersion},
	}, grpcserver.MeshExtension())
	card.Capabilities.ExtendedAgentCard = proto.Bool(true)
	policy, err := webhook.NewPolicy("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hopts := []server.Option{
		server.WithAgentCard(authn.Card(card)),
		server.WithWebhooks(webhook.WithPolicy(policy)),
		server.WithExtendedAgentCard(func(_ context.Context, call *server.CallInfo) (*a2av1.AgentCard, error) {
			c := proto.Clone(card).(*a2av1.AgentCard)
			c.Description = "extended for " + call.Caller
			return c, nil
		}),
	}
	if o.rateLimit > 0 {
		hopts = append(hopts, server.WithRateLimit(o.rateLimit, o.burst))
	}
	h, err := server.NewHandler(echo.Executor, hopts...)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := mtls.ServerConfig(reloader)
	gs, err := grpcserver.New(h,
		grpcserver.WithGRPCOptions(grpc.Creds(credentials.NewTLS(tlsCfg))),
		grpcserver.WithInterceptors(authn.GRPCInterceptors()),
		grpcserver.WithIdentity(auth.Identity))
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(glis)
	hs, err := httpserver.New(h, httpserver.WithAuth(authn.HTTP), httpserver.WithIdentity(auth.HTTPIdentity))
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Server{Handler: hs, TLSConfig: tlsCfg, ReadHeaderTimeout: 5 * time.Second}
	go web.ServeTLS(hlis, "", "")
	t.Cleanup(func() {
		hs.Drain()
		web.Close()
		gs.Stop()
	})
	return b
}

// token mints a JWT for sub; edit adjusts the claims before signing.
func (b *bed) token(t testing.TB, sub string, edit func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{"iss": issuer, "aud": audience, "sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	if edit != nil {
		edit(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = tokenKID
	s, err := tok.SignedString(b.tokenKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// creds are what a test client presents.
type creds struct {
	cert    string            // name in bed.certs; "" for none
	bearer  string            // JWT
	apiKey  string            // API key
	headers map[string]string // anything else, e.g. spoofed identity headers
}

func (b *bed) tlsConfig(c creds) *tls.Config {
	cfg := &tls.Config{RootCAs: b.ca.Pool(), MinVersion: tls.VersionTLS12}
	if c.cert != "" {
		cfg.Certificates = []tls.Certificate{b.certs[c.cert]}
	}
	return cfg
}

func (c creds) pairs() map[string]string {
	out := map[string]string{}
	if c.bearer != "" {
		out["Authorization"] = "Bearer " + c.bearer
	}
	if c.apiKey != "" {
		out[auth.DefaultAPIKeyHeader] = c.apiKey
	}
	for k, v := range c.headers {
		out[k] = v
	}
	return out
}

// binding performs one A2A operation (by its RPC name) with the given
// credentials, filling resp on success. Errors come back as *a2agrpc.Error
// decoded from the wire, with the transport status checked against the
// error table.
type binding struct {
	name string
	do   func(t *testing.T, b *bed, c creds, op string, req, resp proto.Message) error
}

var bindings = []binding{{"grpc", grpcDo}, {"mesh", meshDo}, {"rest", restDo}, {"jsonrpc", jsonrpcDo}}

func (b *bed) conn(t *testing.T, c creds) *grpc.ClientConn {
	conn, err := grpc.NewClient(b.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(b.tlsConfig(c))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func outgoing(ctx context.Context, c creds) context.Context {
	for k, v := range c.pairs() {
		ctx = metadata.AppendToOutgoingContext(ctx, strings.ToLower(k), v)
	}
	return ctx
}

// wireError decodes a gRPC error and checks its code matches its reason.
func wireError(t *testing.T, err error) error {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	e := a2agrpc.FromStatus(st)
	if st.Code() != e.GRPCCode() {
		t.Errorf("gRPC code %v for reason %s, want %v", st.Code(), e.Reason, e.GRPCCode())
	}
	return e
}

func grpcDo(t *testing.T, b *bed, c creds, op string, req, resp proto.Message) error {
	ctx, cancel := context.WithTimeout(outgoing(context.Background(), c), 10*time.Second)
	defer cancel()
	cl := a2av1.NewA2AServiceClient(b.conn(t, c))
	var (
		out proto.Message
		err error
	)
	switch op {
	case "SendMessage":
		out, err = cl.SendMessage(ctx, req.(*a2av1.SendMessageRequest))
	case "GetTask":
		out, err = cl.GetTask(ctx, req.(*a2av1.GetTaskRequest))
	case "ListTasks":
		out, err = cl.ListTasks(ctx, req.(*a2av1.ListTasksRequest))
	case "CancelTask":
		out, err = cl.CancelTask(ctx, req.(*a2av1.CancelTaskRequest))
	case "CreateTaskPushNotificationConfig":
		out, err = cl.CreateTaskPushNotificationConfig(ctx, req.(*a2av1.TaskPushNotificationConfig))
	case "ListTaskPushNotificationConfigs":
		out, err = cl.ListTaskPushNotificationConfigs(ctx, req.(*a2av1.ListTaskPushNotificationConfigsRequest))
	case "GetTaskPushNotificationConfig":
		out, err = cl.GetTaskPushNotificationConfig(ctx, req.(*a2av1.GetTaskPushNotificationConfigRequest))
	case "DeleteTaskPushNotificationConfig":
		out, err = cl.DeleteTaskPushNotificationConfig(ctx, req.(*a2av1.DeleteTaskPushNotificationConfigRequest))
	case "GetExtendedAgentCard":
		out, err = cl.GetExtendedAgentCard(ctx, req.(*a2av1.GetExtendedAgentCardRequest))
	case "SubscribeToTask":
		var s grpc.ServerStreamingClient[a2av1.StreamResponse]
		if s, err = cl.SubscribeToTask(ctx, req.(*a2av1.SubscribeToTaskRequest)); err == nil {
			out, err = s.Recv()
		}
	default:
		t.Fatalf("grpc: no operation %s", op)
	}
	if err != nil {
		return wireError(t, err)
	}
	if resp != nil {
		proto.Merge(resp, out)
	}
	return nil
}

func meshDo(t *testing.T, b *bed, c creds, op string, req, resp proto.Message) error {
	ctx, cancel := context.WithTimeout(outgoing(context.Background(), c), 10*time.Second)
	defer cancel()
	stream, err := meshv1.NewMeshServiceClient(b.conn(t, c)).Connect(ctx)
	if err != nil {
		return wireError(t, err)
	}
	r := &meshv1.Request{RequestId: 1}
	switch op {
	case "SendMessage":
		r.Operation = &meshv1.Request_SendMessage{SendMessage: req.(*a2av1.SendMessageRequest)}
	case "GetTask":
		r.Operation = &meshv1.Request_GetTask{GetTask: req.(*a2av1.GetTaskRequest)}
	case "ListTasks":
		r.Operation = &meshv1.Request_ListTasks{ListTasks: req.(*a2av1.ListTasksRequest)}
	case "CancelTask":
		r.Operation = &meshv1.Request_CancelTask{CancelTask: req.(*a2av1.CancelTaskRequest)}
	case "CreateTaskPushNotificationConfig":
		r.Operation = &meshv1.Request_CreateTaskPushNotificationConfig{CreateTaskPushNotificationConfig: req.(*a2av1.TaskPushNotificationConfig)}
	case "ListTaskPushNotificationConfigs":
		r.Operation = &meshv1.Request_ListTaskPushNotificationConfigs{ListTaskPushNotificationConfigs: req.(*a2av1.ListTaskPushNotificationConfigsRequest)}
	case "GetTaskPushNotificationConfig":
		r.Operation = &meshv1.Request_GetTaskPushNotificationConfig{GetTaskPushNotificationConfig: req.(*a2av1.GetTaskPushNotificationConfigRequest)}
	case "DeleteTaskPushNotificationConfig":
		r.Operation = &meshv1.Request_DeleteTaskPushNotificationConfig{DeleteTaskPushNotificationConfig: req.(*a2av1.DeleteTaskPushNotificationConfigRequest)}
	case "GetExtendedAgentCard":
		r.Operation = &meshv1.Request_GetExtendedAgentCard{GetExtendedAgentCard: req.(*a2av1.GetExtendedAgentCardRequest)}
	case "SubscribeToTask":
		r.Operation = &meshv1.Request_SubscribeToTask{SubscribeToTask: req.(*a2av1.SubscribeToTaskRequest)}
	default:
		t.Fatalf("mesh: no operation %s", op)
	}
	if err := stream.Send(r); err != nil && !errors.Is(err, io.EOF) {
		return wireError(t, err)
	}
	f, err := stream.Recv()
	if err != nil {
		return wireError(t, err)
	}
	if f.GetError() != nil {
		return wireError(t, status.ErrorProto(f.GetError()))
	}
	if resp == nil {
		return nil
	}
	var out proto.Message
	switch x := f.GetResult().(type) {
	case *meshv1.Response_SendMessage:
		out = x.SendMessage
	case *meshv1.Response_Task:
		out = x.Task
	case *meshv1.Response_ListTasks:
		out = x.ListTasks
	case *meshv1.Response_PushConfig:
		out = x.PushConfig
	case *meshv1.Response_PushConfigs:
		out = x.PushConfigs
	case *meshv1.Response_AgentCard:
		out = x.AgentCard
	case *meshv1.Response_Event:
		out = x.Event
	default:
		t.Fatalf("mesh: unexpected frame %v", f)
	}
	proto.Merge(resp, out)
	return nil
}

func (b *bed) httpClient(c creds) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: b.tlsConfig(c)}}
}

// httpError decodes an AIP-193 or JSON-RPC error body and checks the HTTP
// status and challenge.
func httpError(t *testing.T, resp *http.Response, body []byte, rpc bool) error {
	var reason string
	if rpc {
		var env struct {
			Error *struct {
				Code int               `json:"code"`
				Data []json.RawMessage `json:"data"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
			t.Fatalf("jsonrpc: no error envelope (HTTP %d): %s", resp.StatusCode, body)
		}
		for _, d := range env.Error.Data {
			var info struct{ Reason string }
			if json.Unmarshal(d, &info) == nil && info.Reason != "" {
				reason = info.Reason
				break
			}
		}
		if e := a2agrpc.NewError(a2agrpc.Reason(reason), ""); env.Error.Code != e.JSONRPCCode() {
			t.Errorf("JSON-RPC code %d for reason %s, want %d", env.Error.Code, reason, e.JSONRPCCode())
		}
	} else {
		var env struct {
			Error struct {
				Code    int
				Details []struct{ Reason string }
			}
		}
		if err := json.Unmarshal(body, &env); err != nil || len(env.Error.Details) == 0 {
			t.Fatalf("rest: no AIP-193 error (HTTP %d): %s", resp.StatusCode, body)
		}
		reason = env.Error.Details[0].Reason
		if env.Error.Code != resp.StatusCode {
			t.Errorf("AIP-193 code %d, HTTP status %d", env.Error.Code, resp.StatusCode)
		}
	}
	e := a2agrpc.NewError(a2agrpc.Reason(reason), "")
	if (!rpc || e.HTTPStatus() == http.StatusUnauthorized || e.HTTPStatus() == http.StatusForbidden) && resp.StatusCode != e.HTTPStatus() {
		t.Errorf("HTTP status %d for reason %s, want %d", resp.StatusCode, reason, e.HTTPStatus())
	}
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	return e
}

func (b *bed) post(t *testing.T, c creds, method, path string, body []byte) (*http.Response, []byte) {
	req, err := http.NewRequest(method, b.httpURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.pairs() {
		req.Header.Set(k, v)
	}
	resp, err := b.httpClient(c).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// The first event is enough: an error, or proof of access.
		br := bufio.NewReader(resp.Body)
		line, err := br.ReadString('\n')
		for err == nil && !strings.HasPrefix(line, "data:") {
			line, err = br.ReadString('\n')
		}
		return resp, []byte(strings.TrimSpace(strings.TrimPrefix(line, "data:")))
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

func restDo(t *testing.T, b *bed, c creds, op string, req, out proto.Message) error {
	var method, path string
	var body []byte
	marshal := func(m proto.Message) []byte {
		raw, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	switch op {
	case "SendMessage":
		method, path, body = http.MethodPost, "/message:send", marshal(req)
	case "GetTask":
		method, path = http.MethodGet, "/tasks/"+req.(*a2av1.GetTaskRequest).GetId()
	case "ListTasks":
		method, path = http.MethodGet, "/tasks"
	case "CancelTask":
		method, path, body = http.MethodPost, "/tasks/"+req.(*a2av1.CancelTaskRequest).GetId()+":cancel", []byte("{}")
	case "SubscribeToTask":
		method, path = http.MethodGet, "/tasks/"+req.(*a2av1.SubscribeToTaskRequest).GetId()+":subscribe"
	case "CreateTaskPushNotificationConfig":
		method, path, body = http.MethodPost, "/tasks/"+req.(*a2av1.TaskPushNotificationConfig).GetTaskId()+"/pushNotificationConfigs", marshal(req)
	case "ListTaskPushNotificationConfigs":
		method, path = http.MethodGet, "/tasks/"+req.(*a2av1.ListTaskPushNotificationConfigsRequest).GetTaskId()+"/pushNotificationConfigs"
	case "GetTaskPushNotificationConfig":
		r := req.(*a2av1.GetTaskPushNotificationConfigRequest)
		method, path = http.MethodGet, "/tasks/"+r.GetTaskId()+"/pushNotificationConfigs/"+r.GetId()
	case "DeleteTaskPushNotificationConfig":
		r := req.(*a2av1.DeleteTaskPushNotificationConfigRequest)
		method, path = http.MethodDelete, "/tasks/"+r.GetTaskId()+"/pushNotificationConfigs/"+r.GetId()
	case "GetExtendedAgentCard":
		method, path = http.MethodGet, "/extendedAgentCard"
	default:
		t.Fatalf("rest: no operation %s", op)
	}
	// A request naming a tenant goes to the tenant-prefixed route, where the
	// tenant comes from the path, as HTTP clients of a multi-tenant agent
	// call it.
	if tenant := tenantOf(req); tenant != "" {
		path = "/" + tenant + path
		if body != nil {
			body = marshal(withoutTenant(req))
		}
	}
	resp, raw := b.post(t, c, method, path, body)
	if resp.StatusCode != http.StatusOK {
		return httpError(t, resp, raw, false)
	}
	if out != nil {
		if err := protojson.Unmarshal(raw, out); err != nil {
			t.Fatalf("rest %s: %v: %s", op, err, raw)
		}
	}
	return nil
}

func jsonrpcDo(t *testing.T, b *bed, c creds, op string, req, out proto.Message) error {
	params, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	env := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":7,"method":%q,"params":%s}`, op, params)
	resp, raw := b.post(t, c, http.MethodPost, httpserver.JSONRPCPath, env)
	var res struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("jsonrpc %s: HTTP %d: %s", op, resp.StatusCode, raw)
	}
	if res.Error != nil {
		return httpError(t, resp, raw, true)
	}
	if out != nil {
		if err := protojson.Unmarshal(res.Result, out); err != nil {
			t.Fatalf("jsonrpc %s: %v: %s", op, err, res.Result)
		}
	}
	return nil
}

func wantReason(t *testing.T, what string, err error, want *a2agrpc.Error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: %v, want success", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: %v, want %s", what, err, want.Reason)
	}
}

// TestCredentialsOnEveryBinding is the acceptance matrix: every credential
// case gets the same answer on gRPC, the mesh stream, REST and JSON-RPC.
func TestCredentialsOnEveryBinding(t *testing.T) {
	b := newBed(t, bedOptions{})
	valid := b.token(t, "alice", nil)
	noneTok := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": issuer, "aud": audience, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).
			SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	wrongKey := func() string {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": issuer, "aud": audience, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
		tok.Header["kid"] = tokenKID
		s, _ := tok.SignedString(k)
		return s
	}()
	cases := []struct {
		name string
		c    creds
		want *a2agrpc.Error
	}{
		{"valid certificate and token", creds{cert: "alice", bearer: valid}, nil},
		{"valid certificate and API key", creds{cert: "alice", apiKey: b.apiKey}, nil},
		{"no client certificate", creds{bearer: valid}, a2agrpc.ErrUnauthenticated},
		{"certificate from another CA", creds{cert: "forger", bearer: valid}, a2agrpc.ErrUnauthenticated},
		{"expired certificate", creds{cert: "expired", bearer: valid}, a2agrpc.ErrUnauthenticated},
		{"identity not on the allow-list", creds{cert: "stranger", bearer: valid}, a2agrpc.ErrUnauthorized},
		{"common name posing as a SPIFFE ID", creds{cert: "cn-spoof", bearer: valid}, a2agrpc.ErrUnauthenticated},
		{"certificate but no token", creds{cert: "alice"}, a2agrpc.ErrUnauthenticated},
		{"expired token", creds{cert: "alice", bearer: b.token(t, "alice", func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-10 * time.Minute).Unix()
		})}, a2agrpc.ErrUnauthenticated},
		{"wrong audience", creds{cert: "alice", bearer: b.token(t, "alice", func(c jwt.MapClaims) { c["aud"] = "a2a://other" })}, a2agrpc.ErrUnauthenticated},
		{"alg none", creds{cert: "alice", bearer: noneTok}, a2agrpc.ErrUnauthenticated},
		{"token signed by another key", creds{cert: "alice", bearer: wrongKey}, a2agrpc.ErrUnauthenticated},
		{"wrong API key", creds{cert: "alice", apiKey: "a2a_not-a-key"}, a2agrpc.ErrUnauthenticated},
		{"spoofed identity headers only", creds{headers: map[string]string{
			"X-Forwarded-Client-Cert": "URI=" + trustDomain + "alice", "X-A2A-Principal": "jwt:" + issuer + "#alice",
		}}, a2agrpc.ErrUnauthenticated},
	}
	for _, bd := range bindings {
		for _, tc := range cases {
			t.Run(bd.name+"/"+tc.name, func(t *testing.T) {
				err := bd.do(t, b, tc.c, "ListTasks", &a2av1.ListTasksRequest{}, &a2av1.ListTasksResponse{})
				wantReason(t, "ListTasks", err, tc.want)
			})
		}
	}
}

// TestPublicEndpointsNeedNoCredentials: load balancers and clients that
// must first learn how to authenticate reach health and the card.
func TestPublicEndpointsNeedNoCredentials(t *testing.T) {
	b := newBed(t, bedOptions{})
	resp, raw := b.post(t, creds{}, http.MethodGet, httpserver.WellKnownCardPath, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("card: HTTP %d: %s", resp.StatusCode, raw)
	}
	var card a2av1.AgentCard
	if err := protojson.Unmarshal(raw, &card); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{auth.SchemeMTLS, auth.SchemeBearer, auth.SchemeAPIKey} {
		if card.GetSecuritySchemes()[s] == nil {
			t.Errorf("card lacks security scheme %s: %v", s, card.GetSecuritySchemes())
		}
	}
	// Certificate and token together, with either token kind.
	if n := len(card.GetSecurityRequirements()); n != 2 {
		t.Fatalf("security requirements = %v", card.GetSecurityRequirements())
	}
	for _, r := range card.GetSecurityRequirements() {
		if _, ok := r.GetSchemes()[auth.SchemeMTLS]; !ok || len(r.GetSchemes()) != 2 {
			t.Errorf("requirement %v does not pair mTLS with a token", r.GetSchemes())
		}
	}
	if resp, raw := b.post(t, creds{}, http.MethodGet, httpserver.OpenAPIPath, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("openapi: HTTP %d: %s", resp.StatusCode, raw)
	}
	hc := healthClient(t, b)
	if st, err := hc(); err != nil || st != "SERVING" {
		t.Errorf("health without credentials: %v %v", st, err)
	}
}

// TestPrincipalIsolation: a task exists only for the principal that made
// it, on every binding and for every operation that names it.
func TestPrincipalIsolation(t *testing.T) {
	b := newBed(t, bedOptions{})
	alice := creds{cert: "alice", bearer: b.token(t, "alice", nil)}
	// Bob uses alice's workload certificate with his own token, and then
	// claims to be alice through every header a proxy might set: none of it
	// may reach alice's tasks.
	bob := creds{cert: "alice", bearer: b.token(t, "bob", nil), headers: map[string]string{
		"X-Forwarded-Client-Cert": "URI=" + trustDomain + "alice",
		"X-Forwarded-User":        "alice",
		"X-A2A-Principal":         "jwt:" + issuer + "#alice",
		"Grpc-Metadata-Caller":    "alice",
	}}
	checkIsolation(t, b, alice, bob, "", "")
	for _, bd := range bindings {
		t.Run(bd.name+"/extended-card", func(t *testing.T) {
			var card a2av1.AgentCard
			if err := bd.do(t, b, bob, "GetExtendedAgentCard", &a2av1.GetExtendedAgentCardRequest{}, &card); err != nil {
				t.Fatal(err)
			}
			if want := "extended for jwt:" + issuer + "#bob"; card.GetDescription() != want {
				t.Errorf("extended card description %q, want %q", card.GetDescription(), want)
			}
		})
	}
}

// TestIsolationWithoutTokens: principals named by a certificate alone or
// by an API key alone are kept apart just as token holders are.
func TestIsolationWithoutTokens(t *testing.T) {
	b := newBed(t, bedOptions{anyOf: true})
	alice, bob, robot := creds{cert: "alice"}, creds{cert: "bob"}, creds{apiKey: b.apiKey}
	t.Run("certificate-vs-certificate", func(t *testing.T) { checkIsolation(t, b, alice, bob, "", "") })
	t.Run("api-key-vs-certificate", func(t *testing.T) { checkIsolation(t, b, robot, alice, "", "") })
	t.Run("certificate-vs-api-key", func(t *testing.T) { checkIsolation(t, b, bob, robot, "", "") })
}

// TestTenantIsolation: a task belongs to the tenant it was created in as
// well as to its principal: the same principal naming another tenant (by
// the request field, or by the /{tenant} route over HTTP) does not find it.
func TestTenantIsolation(t *testing.T) {
	b := newBed(t, bedOptions{})
	alice := creds{cert: "alice", bearer: b.token(t, "alice", nil)}
	checkIsolation(t, b, alice, alice, "acme", "globex")
	checkIsolation(t, b, alice, alice, "acme", "")
	checkIsolation(t, b, alice, alice, "", "acme")
}

// checkIsolation has owner start a task (in ownerTenant) with a push config
// and checks, on every binding, that intruder (in intruderTenant) can
// neither see nor touch either, and that both are intact afterwards.
func checkIsolation(t *testing.T, b *bed, owner, intruder creds, ownerTenant, intruderTenant string) {
	t.Helper()
	id := b.holdTaskIn(t, owner, ownerTenant)
	var cfg a2av1.TaskPushNotificationConfig
	if err := grpcDo(t, b, owner, "CreateTaskPushNotificationConfig", &a2av1.TaskPushNotificationConfig{
		Tenant: ownerTenant, TaskId: id, Url: "http://127.0.0.1:9/hook",
	}, &cfg); err != nil {
		t.Fatal(err)
	}
	in := intruderTenant
	ops := []struct {
		op  string
		req proto.Message
	}{
		{"GetTask", &a2av1.GetTaskRequest{Tenant: in, Id: id}},
		{"CancelTask", &a2av1.CancelTaskRequest{Tenant: in, Id: id}},
		{"SubscribeToTask", &a2av1.SubscribeToTaskRequest{Tenant: in, Id: id}},
		{"SendMessage", &a2av1.SendMessageRequest{Tenant: in, Message: &a2av1.Message{
			MessageId: "m2", TaskId: id, Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: "hijack"}}},
		}}},
		{"CreateTaskPushNotificationConfig", &a2av1.TaskPushNotificationConfig{Tenant: in, TaskId: id, Url: "http://127.0.0.1:9/hook"}},
		{"ListTaskPushNotificationConfigs", &a2av1.ListTaskPushNotificationConfigsRequest{Tenant: in, TaskId: id}},
		{"GetTaskPushNotificationConfig", &a2av1.GetTaskPushNotificationConfigRequest{Tenant: in, TaskId: id, Id: cfg.GetId()}},
		{"DeleteTaskPushNotificationConfig", &a2av1.DeleteTaskPushNotificationConfigRequest{Tenant: in, TaskId: id, Id: cfg.GetId()}},
	}
	for _, bd := range bindings {
		t.Run(bd.name, func(t *testing.T) {
			for _, o := range ops {
				wantReason(t, "intruder "+o.op, bd.do(t, b, intruder, o.op, o.req, nil), a2agrpc.ErrTaskNotFound)
			}
			var list a2av1.ListTasksResponse
			if err := bd.do(t, b, intruder, "ListTasks", &a2av1.ListTasksRequest{Tenant: in}, &list); err != nil {
				t.Fatal(err)
			}
			for _, task := range list.GetTasks() {
				if task.GetId() == id {
					t.Errorf("the intruder lists the owner's task %s", id)
				}
			}
			var task a2av1.Task
			if err := bd.do(t, b, owner, "GetTask", &a2av1.GetTaskRequest{Tenant: ownerTenant, Id: id}, &task); err != nil || task.GetId() != id {
				t.Fatalf("owner GetTask: %v %v", task.GetId(), err)
			}
			if task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_WORKING {
				t.Errorf("the owner's task is %v after the intruder's attempts, want WORKING", task.GetStatus().GetState())
			}
			var got a2av1.TaskPushNotificationConfig
			if err := bd.do(t, b, owner, "GetTaskPushNotificationConfig", &a2av1.GetTaskPushNotificationConfigRequest{
				Tenant: ownerTenant, TaskId: id, Id: cfg.GetId(),
			}, &got); err != nil || got.GetUrl() != cfg.GetUrl() {
				t.Errorf("owner's push config after the intruder's attempts: %v %v", &got, err)
			}
		})
	}
}

// TestAnyOfAcceptsEitherCredential: with -auth-any a certificate alone or
// a token alone suffices, but a bad certificate is still refused.
func TestAnyOfAcceptsEitherCredential(t *testing.T) {
	b := newBed(t, bedOptions{anyOf: true})
	cases := []struct {
		name string
		c    creds
		want *a2agrpc.Error
	}{
		{"certificate only", creds{cert: "alice"}, nil},
		{"token only", creds{bearer: b.token(t, "alice", nil)}, nil},
		{"API key only", creds{apiKey: b.apiKey}, nil},
		{"nothing", creds{}, a2agrpc.ErrUnauthenticated},
		{"forged certificate with a valid token", creds{cert: "forger", bearer: b.token(t, "alice", nil)}, a2agrpc.ErrUnauthenticated},
		{"stranger certificate", creds{cert: "stranger"}, a2agrpc.ErrUnauthorized},
	}
	for _, bd := range bindings {
		for _, tc := range cases {
			t.Run(bd.name+"/"+tc.name, func(t *testing.T) {
				wantReason(t, "ListTasks", bd.do(t, b, tc.c, "ListTasks", &a2av1.ListTasksRequest{}, nil), tc.want)
			})
		}
	}
}

// TestRateLimitPerPrincipal: a principal over its budget is told to come
// back later on every binding; another principal is unaffected.
func TestRateLimitPerPrincipal(t *testing.T) {
	b := newBed(t, bedOptions{rateLimit: 0.01, burst: 2})
	for _, bd := range bindings {
		t.Run(bd.name, func(t *testing.T) {
			greedy := creds{cert: "alice", bearer: b.token(t, "greedy-"+bd.name, nil)}
			for i := range 2 {
				if err := bd.do(t, b, greedy, "ListTasks", &a2av1.ListTasksRequest{}, nil); err != nil {
					t.Fatalf("call %d within burst: %v", i, err)
				}
			}
			err := bd.do(t, b, greedy, "ListTasks", &a2av1.ListTasksRequest{}, nil)
			wantReason(t, "over the limit", err, a2agrpc.ErrResourceExhausted)
			var e *a2agrpc.Error
			if errors.As(err, &e) && bd.name != "rest" && bd.name != "jsonrpc" && e.RetryAfter <= 0 {
				t.Errorf("no RetryInfo on %s: %+v", bd.name, e)
			}
			other := creds{cert: "alice", bearer: b.token(t, "patient-"+bd.name, nil)}
			if err := bd.do(t, b, other, "ListTasks", &a2av1.ListTasksRequest{}, nil); err != nil {
				t.Errorf("another principal limited too: %v", err)
			}
		})
	}
	t.Run("rest-retry-after", func(t *testing.T) {
		c := creds{cert: "alice", bearer: b.token(t, "greedy-header", nil)}
		var resp *http.Response
		for range 3 {
			resp, _ = b.post(t, c, http.MethodGet, "/tasks", nil)
		}
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("HTTP %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})
}

// TestFailedAuthenticationsThrottled: an address that keeps failing to
// authenticate is refused on every binding, even with valid credentials,
// until its budget refills; being denied by the allow-list does not count.
func TestFailedAuthenticationsThrottled(t *testing.T) {
	for _, bd := range bindings {
		t.Run(bd.name, func(t *testing.T) {
			// A bed per binding: they all call from 127.0.0.1.
			b := newBed(t, bedOptions{anyOf: true, failures: 3})
			for range 4 {
				wantReason(t, "stranger", bd.do(t, b, creds{cert: "stranger"}, "ListTasks", &a2av1.ListTasksRequest{}, nil), a2agrpc.ErrUnauthorized)
			}
			for i := range 3 {
				wantReason(t, fmt.Sprintf("wrong key %d", i), bd.do(t, b, creds{apiKey: "a2a_wrong"}, "ListTasks", &a2av1.ListTasksRequest{}, nil), a2agrpc.ErrUnauthenticated)
			}
			err := bd.do(t, b, creds{apiKey: b.apiKey}, "ListTasks", &a2av1.ListTasksRequest{}, nil)
			wantReason(t, "right key after the budget", err, a2agrpc.ErrResourceExhausted)
			var e *a2agrpc.Error
			if errors.As(err, &e) && bd.name != "rest" && bd.name != "jsonrpc" && e.RetryAfter <= 0 {
				t.Errorf("no RetryInfo on %s: %+v", bd.name, e)
			}
		})
	}
	t.Run("rest-retry-after", func(t *testing.T) {
		b := newBed(t, bedOptions{anyOf: true, failures: 1})
		if resp, _ := b.post(t, creds{apiKey: "a2a_wrong"}, http.MethodGet, "/tasks", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong key: HTTP %d, want 401", resp.StatusCode)
		}
		resp, raw := b.post(t, creds{apiKey: b.apiKey}, http.MethodGet, "/tasks", nil)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("HTTP %d, Retry-After %q: %s; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), raw)
		}
	})
}

// TestStreamEndsWithItsCredential: a mesh stream opened with a short-lived
// token ends UNAUTHENTICATED when the token expires.
func TestStreamEndsWithItsCredential(t *testing.T) {
	b := newBed(t, bedOptions{})
	c := creds{cert: "alice", bearer: b.token(t, "alice", func(cl jwt.MapClaims) { cl["exp"] = time.Now().Add(2 * time.Second).Unix() })}
	stream := b.openMesh(t, c)
	if err := streamEnd(stream); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("stream ended with %v, want Unauthenticated", err)
	}
}

// healthClient checks grpc.health.v1 over TLS with no credentials at all.
func healthClient(t *testing.T, b *bed) func() (string, error) {
	conn := b.conn(t, creds{})
	return func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return r.GetStatus().String(), err
	}
}

// TestSSEEndsWithItsCredential: an SSE subscription opened with a
// short-lived token ends when the token expires.
func TestSSEEndsWithItsCredential(t *testing.T) {
	b := newBed(t, bedOptions{})
	alice := creds{cert: "alice", bearer: b.token(t, "alice", nil)}
	id := b.holdTask(t, alice)
	short := creds{cert: "alice", bearer: b.token(t, "alice", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(2 * time.Second).Unix() })}
	req, err := http.NewRequest(http.MethodGet, b.httpURL+"/tasks/"+id+":subscribe", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range short.pairs() {
		req.Header.Set(k, v)
	}
	client := b.httpClient(short)
	client.Timeout = 30 * time.Second
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe: HTTP %d", resp.StatusCode)
	}
	start := time.Now()
	body, err := io.ReadAll(resp.Body) // ends when the server ends the stream
	if err != nil {
		t.Fatalf("stream broke instead of ending: %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("stream outlived its token by %v", time.Since(start))
	}
	if !bytes.Contains(body, []byte("UNAUTHENTICATED")) {
		t.Errorf("stream ended without an UNAUTHENTICATED error event: %s", body)
	}
}

// TestStreamsEndWhenTheirCAIsRemoved: after the CA bundle is reloaded
// without the CA that issued a client's certificate, new calls are refused
// and the client's open mesh stream ends too.
func TestStreamsEndWhenTheirCAIsRemoved(t *testing.T) {
	b := newBed(t, bedOptions{})
	c := creds{cert: "alice", bearer: b.token(t, "alice", nil)}
	stream := b.openMesh(t, c)
	if err := os.WriteFile(b.caFile, b.otherCA.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.peers.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := streamEnd(stream); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("open stream ended with %v, want Unauthenticated", err)
	}
	wantReason(t, "new call", grpcDo(t, b, c, "ListTasks", &a2av1.ListTasksRequest{}, nil), a2agrpc.ErrUnauthenticated)
}

// holdTask starts a task that stays WORKING until the test ends, as c.
func (b *bed) holdTask(t *testing.T, c creds) string {
	t.Helper()
	return b.holdTaskIn(t, c, "")
}

// holdTaskIn is holdTask in a tenant.
func (b *bed) holdTaskIn(t *testing.T, c creds, tenant string) string {
	t.Helper()
	var sent a2av1.SendMessageResponse
	if err := grpcDo(t, b, c, "SendMessage", &a2av1.SendMessageRequest{
		Tenant:        tenant,
		Message:       &a2av1.Message{MessageId: "m1", Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: echo.Hold}}}},
		Configuration: &a2av1.SendMessageConfiguration{ReturnImmediately: true},
	}, &sent); err != nil {
		t.Fatal(err)
	}
	id := sent.GetTask().GetId()
	if id == "" {
		t.Fatalf("no task: %v", &sent)
	}
	t.Cleanup(func() { _ = grpcDo(t, b, c, "CancelTask", &a2av1.CancelTaskRequest{Tenant: tenant, Id: id}, nil) })
	return id
}

// openMesh opens a mesh stream as c and checks a first request is served.
func (b *bed) openMesh(t *testing.T, c creds) grpc.BidiStreamingClient[meshv1.Request, meshv1.Response] {
	t.Helper()
	ctx, cancel := context.WithTimeout(outgoing(context.Background(), c), 30*time.Second)
	t.Cleanup(cancel)
	stream, err := meshv1.NewMeshServiceClient(b.conn(t, c)).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&meshv1.Request{RequestId: 1, Operation: &meshv1.Request_ListTasks{ListTasks: &a2av1.ListTasksRequest{}}}); err != nil {
		t.Fatal(err)
	}
	if f, err := stream.Recv(); err != nil || f.GetListTasks() == nil {
		t.Fatalf("first answer: %v %v", f, err)
	}
	return stream
}

// streamEnd reads until the stream ends and returns how it ended.
func streamEnd(stream grpc.BidiStreamingClient[meshv1.Request, meshv1.Response]) error {
	for {
		if _, err := stream.Recv(); err != nil {
			return err
		}
	}
}

// tenantOf is the tenant field of an A2A request ("" if it has none).
func tenantOf(req proto.Message) string {
	if r, ok := req.(interface{ GetTenant() string }); ok {
		return r.GetTenant()
	}
	return ""
}

// withoutTenant is a copy of req with its tenant cleared: over HTTP the
// tenant travels in the path.
func withoutTenant(req proto.Message) proto.Message {
	c := proto.Clone(req)
	m := c.ProtoReflect()
	if f := m.Descriptor().Fields().ByName("tenant"); f != nil {
		m.Clear(f)
	}
	return c
}
