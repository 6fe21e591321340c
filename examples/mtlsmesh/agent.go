package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc/auth"
	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/mtls"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// What the agents understand.
const (
	// ping asks an agent who it is and who it thinks is calling.
	ping = "ping"
	// pingPeer asks an agent to ping its peer, so that the peer reports
	// the caller identity it authenticated: the agent itself.
	pingPeer = "ping peer"
)

// node is one agent of the mesh: served over TLS, admitting only callers
// with a certificate from the mesh CA and an allowed identity, and able to
// call its peer with its own certificate.
type node struct {
	name  string
	certs *mtls.Reloader // the agent's certificate and the mesh CA, reloaded when rotated
	agent *host.Agent

	mu   sync.Mutex
	peer *client.Client // set by connect, once both agents run
	with string         // the peer's name
}

// startNode serves agent name with the TLS files f. The server and the
// authenticator share one Reloader, so a rotated certificate or CA bundle
// applies to new handshakes and to the verification of callers at once.
func startNode(name string, f mtls.Files) (_ *node, err error) {
	n := &node{name: name}
	if n.certs, err = mtls.NewReloader(f); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.certs.Close()
		}
	}()
	allow, err := mtls.NewAllowList(allowPattern)
	if err != nil {
		return nil, err
	}
	authn, err := auth.New(auth.Config{Peers: n.certs, Allow: allow})
	if err != nil {
		return nil, err
	}
	n.agent, err = host.Start(n, host.Config{
		Card: card(name),
		TLS:  mtls.ServerConfig(n.certs),
		// The card tells callers that mutual TLS is required.
		PrepareCard: func(c *a2av1.AgentCard) (*a2av1.AgentCard, error) { return authn.Card(c), nil },
		// The same Authenticator guards every binding: gRPC and the mesh
		// stream through the interceptors, REST, SSE and JSON-RPC through
		// the HTTP hook. The identity functions make the principal the
		// owner of the tasks it creates.
		GRPC: []grpcserver.Option{grpcserver.WithInterceptors(authn.GRPCInterceptors()), grpcserver.WithIdentity(auth.Identity)},
		HTTP: []httpserver.Option{httpserver.WithAuth(authn.HTTP), httpserver.WithIdentity(auth.HTTPIdentity)},
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// card describes a mesh agent; host fills in the interfaces.
func card(name string) *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name: name, Description: "An agent of the example.org mesh.", Version: "1.0.0",
		Capabilities:       &a2av1.AgentCapabilities{Streaming: proto.Bool(true)},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2av1.AgentSkill{{Id: "ping", Name: "Ping",
			Description: `"ping": says who answers and who asked; "ping peer": pings the peer agent`,
			Tags:        []string{"mesh"}, Examples: []string{ping, pingPeer}}},
	}
}

// connect makes n's client of its peer, authenticating with n's own
// certificate, over transport.
func (n *node) connect(ctx context.Context, peer *node, transport string) error {
	c, err := dial(ctx, peer.agent.URL(), n.certs, transport)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.peer, n.with = c, peer.name
	return nil
}

// dial connects to the agent at baseURL over transport, presenting the
// certificate of certs (if any) and verifying the server against its CA.
// The agents listen on an IP address, so the name the server certificate
// must carry is that address (a SAN), given explicitly.
func dial(ctx context.Context, baseURL string, certs *mtls.Reloader, transport string) (*client.Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	return client.New(ctx, baseURL,
		client.WithTLS(mtls.ClientConfig(certs, u.Hostname())),
		client.WithTransports(transport))
}

// Execute implements [server.Executor]. Its answers are direct replies: a
// ping is a question, not work to track.
func (n *node) Execute(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	switch strings.TrimSpace(req.Text()) {
	case ping:
		return w.Reply(server.TextPart(fmt.Sprintf("pong from %s to %s", n.name, caller(ctx, req))))
	case pingPeer:
		answer, err := n.pingPeer(ctx)
		if err != nil {
			return err
		}
		return w.Reply(server.TextPart(answer))
	default:
		return w.Reject(fmt.Sprintf("say %q or %q", ping, pingPeer))
	}
}

// caller is the identity the server authenticated for this request: the
// principal put in the context by the auth middleware (on the mesh stream,
// the one that opened the stream), whose Subject is the certificate's
// SPIFFE ID. req.Caller holds the same principal qualified by its scheme
// ("mtls:spiffe://…"), as task ownership uses it.
func caller(ctx context.Context, req *server.Request) string {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.Subject
	}
	if req.Caller != "" {
		return req.Caller
	}
	return "an anonymous caller"
}

// pingPeer pings n's peer with n's certificate and says what it answered.
func (n *node) pingPeer(ctx context.Context) (string, error) {
	n.mu.Lock()
	peer, with := n.peer, n.with
	n.mu.Unlock()
	if peer == nil {
		return "", errors.New("no peer connected yet")
	}
	answer, err := send(ctx, peer, ping)
	if err != nil {
		return "", fmt.Errorf("calling %s: %w", with, err)
	}
	return fmt.Sprintf("%s asked %s over %s: %s", n.name, with, peer.Transport(), answer), nil
}

// disconnect closes n's client of its peer.
func (n *node) disconnect() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.peer == nil {
		return nil
	}
	err := n.peer.Close()
	n.peer = nil
	return err
}

// stop stops the agent, then the reloading of its certificates.
func (n *node) stop(ctx context.Context) error {
	return errors.Join(n.agent.Shutdown(ctx), n.certs.Close())
}

// send sends text to an agent and returns the text of its answer.
func send(ctx context.Context, c *client.Client, text string) (string, error) {
	resp, err := c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: &a2av1.Message{
		MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{server.TextPart(text)},
	}})
	if err != nil {
		return "", err
	}
	return answerText(resp), nil
}

// answerText is the text of an answer: a direct reply is a message; a
// refusal (Reject) is a task whose status message says why.
func answerText(resp *a2av1.SendMessageResponse) string {
	m := resp.GetMessage()
	if m == nil {
		m = resp.GetTask().GetStatus().GetMessage()
	}
	var b strings.Builder
	for _, p := range m.GetParts() {
		b.WriteString(p.GetText())
	}
	return b.String()
}
