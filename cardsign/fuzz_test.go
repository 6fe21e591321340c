package cardsign

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/gowebpki/jcs"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// fuzzFixture is one genuinely signed card. Ed25519 is used because its
// signatures are not malleable, so the only verifying (protected,
// signature, payload) triple the fuzzer can reach is the one we made.
type fuzzFixture struct {
	signer    *Signer
	keys      *KeySet
	cardJSON  []byte
	sig       *a2av1.AgentCardSignature
	canonical []byte
}

var (
	fixtureOnce sync.Once
	fixture     fuzzFixture
)

func getFixture(t testing.TB) fuzzFixture {
	fixtureOnce.Do(func() {
		s := mustSigner(t, "ed25519", "fuzz")
		card := fullCard(t)
		signed := mustSign(t, card, s)
		canonical, err := Canonical(card)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := protojson.Marshal(card)
		if err != nil {
			t.Fatal(err)
		}
		fixture = fuzzFixture{s, keySetFor(t, s), raw, signed.Signatures[0], canonical}
	})
	return fixture
}

func FuzzVerify(f *testing.F) {
	fx := getFixture(f)
	f.Add(fx.cardJSON, fx.sig.Protected, fx.sig.Signature)
	f.Add([]byte(`{"name":"x"}`), fx.sig.Protected, fx.sig.Signature)
	f.Add(fx.cardJSON, b64.EncodeToString([]byte(`{"alg":"none","kid":"fuzz"}`)), "")
	f.Add(fx.cardJSON, b64.EncodeToString([]byte(`{"alg":"HS256","kid":"fuzz","typ":"JOSE"}`)), "AAAA")
	f.Add(fx.cardJSON, b64.EncodeToString([]byte(`{"alg":"EdDSA","kid":"fuzz","crit":["x"]}`)), fx.sig.Signature)
	f.Add([]byte(`{"signatures":[{"protected":"e30","signature":"AA"}]}`), "", "")

	f.Fuzz(func(t *testing.T, cardJSON []byte, protected, signature string) {
		var card a2av1.AgentCard
		if protojson.Unmarshal(cardJSON, &card) != nil {
			card.Reset()
			card.Name = "fallback"
		}
		card.Signatures = append(card.Signatures, &a2av1.AgentCardSignature{Protected: protected, Signature: signature})

		kid, err := Verify(&card, fx.keys)
		if err != nil {
			if kid != "" {
				t.Fatalf("kid %q returned with error %v", kid, err)
			}
			for _, s := range []error{ErrUnsigned, ErrUnknownKey, ErrInvalidSignature, ErrMalformed} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		// Success is only legitimate for our own signature over content
		// that canonicalizes to exactly what we signed.
		got, cerr := Canonical(&card)
		if cerr != nil || !bytes.Equal(got, fx.canonical) {
			t.Fatalf("verified a card we never signed:\n%s", got)
		}
		genuine := false
		for _, s := range card.Signatures {
			genuine = genuine || (s.GetProtected() == fx.sig.Protected && s.GetSignature() == fx.sig.Signature)
		}
		if !genuine || kid != "fuzz" {
			t.Fatalf("verified without the genuine signature (kid %q)", kid)
		}
	})
}

func FuzzCanonical(f *testing.F) {
	fx := getFixture(f)
	f.Add(fx.cardJSON)
	spec, _ := protojson.Marshal(specExampleCard())
	f.Add(spec)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"skills":[{}],"supportedInterfaces":[{"tenant":"t"}],"capabilities":{"streaming":false}}`))
	f.Add([]byte(`{"securitySchemes":{"a":{"oauth2SecurityScheme":{"flows":{"deviceCode":{}}}}},"iconUrl":""}`))
	f.Add([]byte(`{"capabilities":{"extensions":[{"params":{"n":1e300,"z":-0,"s":"\u2028<>","l":[null,true,0.1]}}]}}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		var card a2av1.AgentCard
		if protojson.Unmarshal(data, &card) != nil {
			t.Skip()
		}
		first, err := Canonical(&card)
		if err != nil {
			t.Fatalf("Canonical of a decodable card failed: %v", err)
		}
		if fixed, err := jcs.Transform(first); err != nil || !bytes.Equal(fixed, first) {
			t.Fatalf("not RFC 8785 canonical: %s", first)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(first, &top); err != nil {
			t.Fatal(err)
		}
		for _, required := range []string{"name", "description", "supportedInterfaces", "version", "capabilities", "defaultInputModes", "defaultOutputModes", "skills"} {
			if _, ok := top[required]; !ok {
				t.Fatalf("REQUIRED %q missing: %s", required, first)
			}
		}
		if _, ok := top["signatures"]; ok {
			t.Fatalf("signatures in payload: %s", first)
		}

		// The same logical card, however transported, gives the same bytes.
		wire, err := protojson.Marshal(&card)
		if err != nil {
			t.Fatal(err)
		}
		var viaJSON a2av1.AgentCard
		if err := protojson.Unmarshal(wire, &viaJSON); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		bin, err := proto.Marshal(&card)
		if err != nil {
			t.Fatal(err)
		}
		var viaBinary a2av1.AgentCard
		if err := proto.Unmarshal(bin, &viaBinary); err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]*a2av1.AgentCard{"json": &viaJSON, "binary": &viaBinary} {
			again, err := Canonical(c)
			if err != nil || !bytes.Equal(again, first) {
				t.Fatalf("%s round trip changed the payload (%v):\n%s\n%s", name, err, first, again)
			}
		}
	})
}
