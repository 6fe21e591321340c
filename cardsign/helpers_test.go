package cardsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Key generation (RSA especially) is slow under -race, so each kind of test
// key is generated once per test binary.
var (
	testKeysMu sync.Mutex
	testKeys   = map[string]crypto.Signer{}
)

func testKey(t testing.TB, kind string) crypto.Signer {
	t.Helper()
	testKeysMu.Lock()
	defer testKeysMu.Unlock()
	if k, ok := testKeys[kind]; ok {
		return k
	}
	var k crypto.Signer
	var err error
	switch kind {
	case "p256", "p256b":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p521":
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "rsa", "rsab":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519", "ed25519b":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("unknown test key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	testKeys[kind] = k
	return k
}

func mustSigner(t testing.TB, kind, kid string, opts ...SignerOption) *Signer {
	t.Helper()
	s, err := NewSigner(testKey(t, kind), kid, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keySetFor(t testing.TB, signers ...*Signer) *KeySet {
	t.Helper()
	ks := NewKeySet()
	for _, s := range signers {
		if err := ks.Add(s.KeyID(), s.PublicKey()); err != nil {
			t.Fatal(err)
		}
	}
	return ks
}

func mustSign(t testing.TB, card *a2av1.AgentCard, signers ...*Signer) *a2av1.AgentCard {
	t.Helper()
	out, err := Sign(card, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fullCard exercises every shape Canonical has to handle: nested required
// fields, maps of messages, oneofs, optional scalars and a Struct.
func fullCard(t testing.TB) *a2av1.AgentCard {
	t.Helper()
	params, err := structpb.NewStruct(map[string]any{"depth": 3, "mode": "fast", "nested": map[string]any{"ok": true}})
	if err != nil {
		t.Fatal(err)
	}
	return &a2av1.AgentCard{
		Name:        "Weather Agent <&> ünïcode",
		Description: "Forecasts",
		SupportedInterfaces: []*a2av1.AgentInterface{
			{Url: "https://agent.example/a2a", ProtocolBinding: "JSONRPC", ProtocolVersion: "1.0"},
			{Url: "agent.example:443", ProtocolBinding: "GRPC", ProtocolVersion: "1.0", Tenant: "t1"},
		},
		Provider:         &a2av1.AgentProvider{Url: "https://example.org", Organization: "Example"},
		Version:          "2.1.0",
		DocumentationUrl: proto.String("https://agent.example/docs"),
		Capabilities: &a2av1.AgentCapabilities{
			Streaming:         proto.Bool(true),
			PushNotifications: proto.Bool(false),
			Extensions:        []*a2av1.AgentExtension{{Uri: "https://ext.example/v1", Params: params}},
		},
		SecuritySchemes: map[string]*a2av1.SecurityScheme{
			"bearer": {Scheme: &a2av1.SecurityScheme_HttpAuthSecurityScheme{HttpAuthSecurityScheme: &a2av1.HTTPAuthSecurityScheme{Scheme: "Bearer"}}},
			"oauth": {Scheme: &a2av1.SecurityScheme_Oauth2SecurityScheme{Oauth2SecurityScheme: &a2av1.OAuth2SecurityScheme{
				Flows: &a2av1.OAuthFlows{Flow: &a2av1.OAuthFlows_ClientCredentials{ClientCredentials: &a2av1.ClientCredentialsOAuthFlow{
					TokenUrl: "https://auth.example/token",
					Scopes:   map[string]string{"read": "Read things"},
				}}},
			}}},
		},
		SecurityRequirements: []*a2av1.SecurityRequirement{{Schemes: map[string]*a2av1.StringList{"oauth": {List: []string{"read"}}}}},
		DefaultInputModes:    []string{"text/plain"},
		DefaultOutputModes:   []string{"text/plain", "application/json"},
		Skills: []*a2av1.AgentSkill{
			{Id: "forecast", Name: "Forecast", Description: "Daily forecast", Tags: []string{"weather", "forecast"}, Examples: []string{"Rain tomorrow?"}},
		},
	}
}
