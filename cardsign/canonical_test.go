package cardsign

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"
	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// specExampleCard is the card from A2A v1.0 §8.4's canonicalization example.
func specExampleCard() *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name:        "Example Agent",
		Description: "",
		Capabilities: &a2av1.AgentCapabilities{
			Streaming:         proto.Bool(false),
			PushNotifications: proto.Bool(false),
			Extensions:        []*a2av1.AgentExtension{},
		},
		Skills: []*a2av1.AgentSkill{},
	}
}

func TestCanonicalSpecExample(t *testing.T) {
	got, err := Canonical(specExampleCard())
	if err != nil {
		t.Fatal(err)
	}
	// Our AgentCard also marks supportedInterfaces, version,
	// defaultInputModes and defaultOutputModes REQUIRED, so they appear too.
	const want = `{"capabilities":{"pushNotifications":false,"streaming":false},` +
		`"defaultInputModes":[],"defaultOutputModes":[],"description":"","name":"Example Agent",` +
		`"skills":[],"supportedInterfaces":[],"version":""}`
	if string(got) != want {
		t.Fatalf("Canonical:\n got %s\nwant %s", got, want)
	}

	// Restricted to the fields the spec example's schema has, the output is
	// byte-for-byte the spec's canonical string.
	var obj map[string]any
	if err := json.Unmarshal(got, &obj); err != nil {
		t.Fatal(err)
	}
	for _, extra := range []string{"supportedInterfaces", "version", "defaultInputModes", "defaultOutputModes"} {
		delete(obj, extra)
	}
	b, _ := json.Marshal(obj)
	spec, err := jcs.Transform(b)
	if err != nil {
		t.Fatal(err)
	}
	const specWant = `{"capabilities":{"pushNotifications":false,"streaming":false},"description":"","name":"Example Agent","skills":[]}`
	if string(spec) != specWant {
		t.Fatalf("spec subset:\n got %s\nwant %s", spec, specWant)
	}
}

func TestCanonicalRequiredEmptyFieldsPresent(t *testing.T) {
	card := &a2av1.AgentCard{
		SupportedInterfaces: []*a2av1.AgentInterface{{}},
		Provider:            &a2av1.AgentProvider{},
		SecuritySchemes: map[string]*a2av1.SecurityScheme{
			"key": {Scheme: &a2av1.SecurityScheme_ApiKeySecurityScheme{ApiKeySecurityScheme: &a2av1.APIKeySecurityScheme{}}},
			"oauth": {Scheme: &a2av1.SecurityScheme_Oauth2SecurityScheme{Oauth2SecurityScheme: &a2av1.OAuth2SecurityScheme{
				Flows: &a2av1.OAuthFlows{Flow: &a2av1.OAuthFlows_AuthorizationCode{AuthorizationCode: &a2av1.AuthorizationCodeOAuthFlow{}}},
			}}},
			"oidc": {Scheme: &a2av1.SecurityScheme_Oauth2SecurityScheme{Oauth2SecurityScheme: &a2av1.OAuth2SecurityScheme{}}},
			"none": {},
		},
		Skills: []*a2av1.AgentSkill{{}},
	}
	got, err := Canonical(card)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"capabilities":{},"defaultInputModes":[],"defaultOutputModes":[],"description":"","name":"",` +
		`"provider":{"organization":"","url":""},` +
		`"securitySchemes":{` +
		`"key":{"apiKeySecurityScheme":{"location":"","name":""}},` +
		`"none":{},` +
		`"oauth":{"oauth2SecurityScheme":{"flows":{"authorizationCode":{"authorizationUrl":"","scopes":{},"tokenUrl":""}}}},` +
		// A missing REQUIRED message is synthesized as {} plus its own
		// REQUIRED fields; OAuthFlows has none (its members are a oneof).
		`"oidc":{"oauth2SecurityScheme":{"flows":{}}}},` +
		`"skills":[{"description":"","id":"","name":"","tags":[]}],` +
		`"supportedInterfaces":[{"protocolBinding":"","protocolVersion":"","url":""}],"version":""}`
	if string(got) != want {
		t.Fatalf("Canonical:\n got %s\nwant %s", got, want)
	}
	for _, absent := range []string{"tenant", "documentationUrl", "iconUrl", "examples", "refreshUrl", "securityRequirements", "signatures"} {
		if strings.Contains(string(got), absent) {
			t.Errorf("non-required default field %q present in %s", absent, got)
		}
	}
}

func TestCanonicalOptionalPresence(t *testing.T) {
	unset := specExampleCard()
	unset.Capabilities = &a2av1.AgentCapabilities{}
	explicit := specExampleCard()
	explicit.Capabilities = &a2av1.AgentCapabilities{ExtendedAgentCard: proto.Bool(false)}
	explicit.DocumentationUrl = proto.String("")

	a, err := Canonical(unset)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Canonical(explicit)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(a, []byte(`"capabilities":{}`)) || bytes.Contains(a, []byte("documentationUrl")) {
		t.Errorf("unset optionals leaked: %s", a)
	}
	if !bytes.Contains(b, []byte(`"capabilities":{"extendedAgentCard":false}`)) || !bytes.Contains(b, []byte(`"documentationUrl":""`)) {
		t.Errorf("explicitly set optionals missing: %s", b)
	}
}

func TestCanonicalIgnoresSignaturesAndKeepsInput(t *testing.T) {
	card := fullCard(t)
	before, err := Canonical(card)
	if err != nil {
		t.Fatal(err)
	}
	card.Signatures = []*a2av1.AgentCardSignature{{Protected: "x", Signature: "y"}}
	snapshot := proto.CloneOf(card)
	after, err := Canonical(card)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("signatures changed the payload:\n%s\n%s", before, after)
	}
	if !proto.Equal(card, snapshot) {
		t.Fatal("Canonical modified its input")
	}
}

func TestCanonicalIsDeterministicJCS(t *testing.T) {
	card := fullCard(t)
	first, err := Canonical(card)
	if err != nil {
		t.Fatal(err)
	}
	// protojson randomizes whitespace per process, and map order varies
	// per call; neither may leak into the payload.
	for range 50 {
		again, err := Canonical(card)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("non-deterministic:\n%s\n%s", first, again)
		}
	}
	recanon, err := jcs.Transform(first)
	if err != nil || !bytes.Equal(recanon, first) {
		t.Fatalf("output is not a JCS fixed point: %v\n%s", err, recanon)
	}
	// JCS writes <, > and & literally; json.Marshal's HTML escaping must
	// not survive into the payload.
	if !bytes.Contains(first, []byte(`"name":"Weather Agent <&> ünïcode"`)) {
		t.Fatalf("string not in RFC 8785 form: %s", first)
	}
}

func TestCanonicalNil(t *testing.T) {
	if _, err := Canonical(nil); err == nil {
		t.Fatal("want error for nil card")
	}
}
