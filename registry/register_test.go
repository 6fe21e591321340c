package registry_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/cardsign"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry"
	"github.com/a2agrpc/a2agrpc/server/host"
)

func TestRegisterByCard(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	ctx := context.Background()
	card := testCard("docs", "127.0.0.1:7001", skill("extract", "pdf"))
	reg := mustRegister(t, c, &registryv1.RegisterAgentRequest{
		Source: &registryv1.RegisterAgentRequest_Card{Card: card},
		Labels: map[string]string{"zone": "a"},
	})
	wantID := registry.DeriveAgentID(card)
	if reg.GetAgentId() != wantID || !strings.HasPrefix(wantID, "127-0-0-1-7001-") {
		t.Fatalf("agent_id = %q, want the derived %q", reg.GetAgentId(), wantID)
	}
	if reg.GetStatus() != registryv1.AgentStatus_AGENT_STATUS_HEALTHY || reg.GetCardVerified() || reg.GetOwner() != "" ||
		reg.GetTtl().AsDuration() != registry.DefaultTTL || reg.GetLabels()["zone"] != "a" || reg.GetRevision() == 0 {
		t.Fatalf("registration = %v", reg)
	}
	if got := reg.GetExpireTime().AsTime().Sub(reg.GetRenewTime().AsTime()); got != registry.DefaultTTL {
		t.Fatalf("lease = %v, want %v", got, registry.DefaultTTL)
	}
	if !proto.Equal(reg.GetCard(), card) {
		t.Fatalf("card = %v, want %v", reg.GetCard(), card)
	}
	got, err := c.Get(ctx, wantID)
	if err != nil || !proto.Equal(got, reg) {
		t.Fatalf("Get = %v, %v; want %v", got, err, reg)
	}
	// Registering again replaces the card and renews the lease; the
	// registration keeps its id and register_time.
	time.Sleep(10 * time.Millisecond)
	card2 := proto.Clone(card).(*a2av1.AgentCard)
	card2.Description = "Now with OCR."
	again := mustRegister(t, c, byCard("", card2, 0))
	if again.GetAgentId() != wantID || !again.GetRegisterTime().AsTime().Equal(reg.GetRegisterTime().AsTime()) ||
		!again.GetRenewTime().AsTime().After(reg.GetRenewTime().AsTime()) || again.GetRevision() <= reg.GetRevision() ||
		again.GetCard().GetDescription() != "Now with OCR." {
		t.Fatalf("re-registration = %v, first = %v", again, reg)
	}
	if got := search(t, c, &registryv1.AgentFilter{SkillId: "extract"}, 0); len(got) != 1 || got[0] != wantID {
		t.Fatalf("search = %v", got)
	}
}

func TestRegisterByURL(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	agent := startAgent(t, host.Config{})
	for _, u := range []string{agent.URL(), agent.URL() + "/.well-known/agent-card.json"} {
		reg := mustRegister(t, c, &registryv1.RegisterAgentRequest{AgentId: "echo-1", Source: &registryv1.RegisterAgentRequest_CardUrl{CardUrl: u}})
		if !proto.Equal(reg.GetCard(), agent.Card()) || reg.GetCardUrl() != u {
			t.Fatalf("registered by %s: %v", u, reg)
		}
	}
	_, err := c.Register(context.Background(), &registryv1.RegisterAgentRequest{Source: &registryv1.RegisterAgentRequest_CardUrl{CardUrl: "http://127.0.0.1:1"}})
	wantField(t, err, "cardUrl")
}

func TestRegisterValidation(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	good := testCard("ok", "127.0.0.1:7002")
	noName := proto.Clone(good).(*a2av1.AgentCard)
	noName.Name = " "
	noIface := proto.Clone(good).(*a2av1.AgentCard)
	noIface.SupportedInterfaces = nil
	noURL := proto.Clone(good).(*a2av1.AgentCard)
	noURL.SupportedInterfaces[0].Url = ""
	tests := []struct {
		name  string
		req   *registryv1.RegisterAgentRequest
		field string
	}{
		{"no source", &registryv1.RegisterAgentRequest{}, "card"},
		{"bad id charset", byCard("a/b", good, 0), "agentId"},
		{"id starts with a dot", byCard(".a", good, 0), "agentId"},
		{"id too long", byCard(strings.Repeat("a", registry.MaxAgentIDLen+1), good, 0), "agentId"},
		{"no name", byCard("", noName, 0), "card.name"},
		{"no interface", byCard("", noIface, 0), "card.supportedInterfaces"},
		{"interface without URL", byCard("x", noURL, 0), "card.supportedInterfaces[0].url"},
		{"negative ttl", byCard("", good, -time.Second), "ttl"},
		{"card_url not http", &registryv1.RegisterAgentRequest{Source: &registryv1.RegisterAgentRequest_CardUrl{CardUrl: "ftp://x"}}, "cardUrl"},
		{"too many labels", func() *registryv1.RegisterAgentRequest {
			r := byCard("", good, 0)
			r.Labels = map[string]string{}
			for i := range 65 {
				r.Labels[strings.Repeat("k", i+1)] = "v"
			}
			return r
		}(), "labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Register(context.Background(), tt.req)
			wantField(t, err, tt.field)
		})
	}
	// A ttl out of bounds is clamped, not refused.
	reg := mustRegister(t, c, byCard("", good, 3*time.Hour))
	if reg.GetTtl().AsDuration() != time.Hour {
		t.Fatalf("ttl = %v, want the 1h bound", reg.GetTtl().AsDuration())
	}
	for _, id := range []string{"", "bad id"} {
		_, err := c.Heartbeat(context.Background(), id)
		wantField(t, err, "agentId")
	}
	_, err := c.Get(context.Background(), "nobody")
	if e := wantReason(t, err, a2agrpc.ReasonAgentNotFound); e.Metadata["agentId"] != "nobody" {
		t.Fatalf("metadata = %v", e.Metadata)
	}
}

// newSigner makes an ECDSA P-256 signer and the key set that trusts it.
func newSigner(t *testing.T, kid string) (*cardsign.Signer, *cardsign.KeySet) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cardsign.NewSigner(key, kid)
	if err != nil {
		t.Fatal(err)
	}
	keys := cardsign.NewKeySet()
	if err := keys.Add(kid, &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	return s, keys
}

func TestSignedCards(t *testing.T) {
	signer, keys := newSigner(t, "k1")
	_, c := startRegistry(t, registry.Config{Options: fast(registry.WithCardKeys(keys), registry.WithRequireSignedCards(true))})
	ctx := context.Background()
	signed, err := cardsign.Sign(testCard("signed", "127.0.0.1:7003"), signer)
	if err != nil {
		t.Fatal(err)
	}
	reg := mustRegister(t, c, byCard("", signed, 0))
	if !reg.GetCardVerified() {
		t.Fatal("a card signed with a trusted key is not card_verified")
	}

	tampered := proto.Clone(signed).(*a2av1.AgentCard)
	tampered.SupportedInterfaces[0].Url = "127.0.0.1:6666" // redirect callers elsewhere
	_, err = c.Register(ctx, byCard("", tampered, 0))
	wantField(t, err, "card.signatures")
	if !strings.Contains(err.Error(), "invalid agent card signature") {
		t.Fatalf("error %q does not say the signature is invalid", err)
	}

	otherSigner, _ := newSigner(t, "k2")
	foreign, _ := cardsign.Sign(testCard("foreign", "127.0.0.1:7004"), otherSigner)
	_, err = c.Register(ctx, byCard("", foreign, 0))
	wantField(t, err, "card.signatures")

	_, err = c.Register(ctx, byCard("", testCard("unsigned", "127.0.0.1:7005"), 0))
	wantField(t, err, "card.signatures")

	// A signed agent fetched by URL is verified too.
	agent := startAgent(t, host.Config{PrepareCard: func(card *a2av1.AgentCard) (*a2av1.AgentCard, error) {
		return cardsign.Sign(card, signer)
	}})
	reg = mustRegister(t, c, &registryv1.RegisterAgentRequest{Source: &registryv1.RegisterAgentRequest_CardUrl{CardUrl: agent.URL()}})
	if !reg.GetCardVerified() || reg.GetCardUrl() != agent.URL() {
		t.Fatalf("registration by URL = %v", reg)
	}
}

func TestSignedCardWithoutKeys(t *testing.T) {
	signer, _ := newSigner(t, "k1")
	_, c := startRegistry(t, registry.Config{})
	signed, _ := cardsign.Sign(testCard("signed", "127.0.0.1:7006"), signer)
	if reg := mustRegister(t, c, byCard("", signed, 0)); reg.GetCardVerified() {
		t.Fatal("card_verified without any trusted key")
	}
}

func TestDeriveAgentID(t *testing.T) {
	for _, tt := range []struct{ url, prefix string }{
		{"127.0.0.1:50051", "127-0-0-1-50051-"},
		{"https://Agents.Example.com/a2a/v1", "agents-example-com-a2a-v1-"},
		{"grpc://[::1]:9000", "1-9000-"},
		{"://", "agent-"},
	} {
		card := testCard("x", tt.url)
		id := registry.DeriveAgentID(card)
		if !strings.HasPrefix(id, tt.prefix) || len(id) != len(tt.prefix)+8 {
			t.Errorf("DeriveAgentID(%q) = %q, want %q + 8 hex digits", tt.url, id, tt.prefix)
		}
		if id != registry.DeriveAgentID(proto.Clone(card).(*a2av1.AgentCard)) {
			t.Errorf("DeriveAgentID(%q) is not stable", tt.url)
		}
	}
	long := registry.DeriveAgentID(testCard("x", "http://"+strings.Repeat("a", 300)))
	if len(long) > registry.MaxAgentIDLen {
		t.Errorf("derived id of a long URL has %d characters", len(long))
	}
	if registry.DeriveAgentID(testCard("x", "127.0.0.1:1")) == registry.DeriveAgentID(testCard("x", "127.0.0.1-1")) {
		t.Error("URLs that slug alike share an id")
	}
}

func TestTTLClampedFromRequest(t *testing.T) {
	_, c := startRegistry(t, registry.Config{Options: []registry.Option{registry.WithDefaultTTL(20 * time.Second), registry.WithTTLBounds(10*time.Second, time.Minute)}})
	for _, tt := range []struct {
		ask, want time.Duration
	}{{0, 20 * time.Second}, {time.Second, 10 * time.Second}, {45 * time.Second, 45 * time.Second}, {time.Hour, time.Minute}} {
		req := byCard("ttl", testCard("ttl", "127.0.0.1:7007"), 0)
		if tt.ask != 0 {
			req.Ttl = durationpb.New(tt.ask)
		}
		if got := mustRegister(t, c, req).GetTtl().AsDuration(); got != tt.want {
			t.Errorf("ttl %v: granted %v, want %v", tt.ask, got, tt.want)
		}
	}
}
