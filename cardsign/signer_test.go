package cardsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

func decodeHeader(t *testing.T, sig *a2av1.AgentCardSignature) map[string]any {
	t.Helper()
	raw, err := b64.DecodeString(sig.GetProtected())
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSignVerifyRoundTrip(t *testing.T) {
	cases := []struct {
		kind string
		opts []SignerOption
		alg  string
	}{
		{"p256", nil, "ES256"},
		{"p384", nil, "ES384"},
		{"p521", nil, "ES512"},
		{"rsa", nil, "RS256"},
		{"rsa", []SignerOption{WithPSS()}, "PS256"},
		{"ed25519", nil, "EdDSA"},
	}
	for _, tc := range cases {
		t.Run(tc.alg, func(t *testing.T) {
			s := mustSigner(t, tc.kind, "kid-"+tc.alg, tc.opts...)
			if s.Algorithm() != tc.alg {
				t.Fatalf("alg = %s, want %s", s.Algorithm(), tc.alg)
			}
			card := fullCard(t)
			signed := mustSign(t, card, s)
			if len(card.Signatures) != 0 {
				t.Fatal("Sign modified its input")
			}
			if len(signed.Signatures) != 1 {
				t.Fatalf("got %d signatures", len(signed.Signatures))
			}
			h := decodeHeader(t, signed.Signatures[0])
			if h["alg"] != tc.alg || h["kid"] != "kid-"+tc.alg || h["typ"] != "JOSE" || len(h) != 3 {
				t.Fatalf("protected header = %v", h)
			}
			kid, err := Verify(signed, keySetFor(t, s))
			if err != nil || kid != s.KeyID() {
				t.Fatalf("Verify = %q, %v", kid, err)
			}

			// Signer.Sign yields an equivalent signature usable on its own.
			sig, err := s.Sign(card)
			if err != nil {
				t.Fatal(err)
			}
			alone := proto.CloneOf(card)
			alone.Signatures = []*a2av1.AgentCardSignature{sig}
			if _, err := Verify(alone, keySetFor(t, s)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSignerJKU(t *testing.T) {
	s := mustSigner(t, "p256", "k1", WithJKU("https://agent.example/.well-known/jwks.json"))
	signed := mustSign(t, fullCard(t), s)
	if got := decodeHeader(t, signed.Signatures[0])["jku"]; got != "https://agent.example/.well-known/jwks.json" {
		t.Fatalf("jku = %v", got)
	}
	if _, err := Verify(signed, keySetFor(t, s)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"http://agent.example/jwks.json", "/jwks.json", "https://", "::"} {
		if _, err := NewSigner(testKey(t, "p256"), "k", WithJKU(bad)); err == nil {
			t.Errorf("WithJKU(%q) accepted", bad)
		}
	}
}

// lyingSigner reports one public key but signs with another, as a
// misconfigured KMS might.
type lyingSigner struct {
	crypto.Signer
	pub crypto.PublicKey
}

func (l lyingSigner) Public() crypto.PublicKey { return l.pub }

// weirdSigner has a public key type the package does not support.
type weirdSigner struct{}

func (weirdSigner) Public() crypto.PublicKey { return []byte("secret") }
func (weirdSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, nil
}

func TestNewSignerRejects(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func() (*Signer, error){
		"nil key":     func() (*Signer, error) { return NewSigner(nil, "k") },
		"empty kid":   func() (*Signer, error) { return NewSigner(testKey(t, "p256"), "") },
		"rsa 1024":    func() (*Signer, error) { return NewSigner(small, "k") },
		"p224":        func() (*Signer, error) { return NewSigner(p224, "k") },
		"pss on ec":   func() (*Signer, error) { return NewSigner(testKey(t, "p256"), "k", WithPSS()) },
		"pss on ed":   func() (*Signer, error) { return NewSigner(testKey(t, "ed25519"), "k", WithPSS()) },
		"hmac-ish":    func() (*Signer, error) { return NewSigner(weirdSigner{}, "k") },
		"bad jku opt": func() (*Signer, error) { return NewSigner(testKey(t, "p256"), "k", WithJKU("ftp://x")) },
	}
	for name, f := range cases {
		if s, err := f(); err == nil || s != nil {
			t.Errorf("%s: got signer %v, err %v", name, s, err)
		}
	}
}

// opaque hides the concrete key type, like an HSM/KMS-backed crypto.Signer.
type opaque struct{ crypto.Signer }

func TestOpaqueSigner(t *testing.T) {
	for _, tc := range []struct {
		kind string
		opts []SignerOption
	}{{"p256", nil}, {"p521", nil}, {"rsa", nil}, {"rsa", []SignerOption{WithPSS()}}, {"ed25519", nil}} {
		s, err := NewSigner(opaque{testKey(t, tc.kind)}, "opaque", tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		signed := mustSign(t, fullCard(t), s)
		if kid, err := Verify(signed, keySetFor(t, s)); err != nil || kid != s.KeyID() {
			t.Fatalf("%s: Verify = %q, %v", s.Algorithm(), kid, err)
		}
	}

	liar, err := NewSigner(lyingSigner{Signer: testKey(t, "p256b"), pub: testKey(t, "p256").Public()}, "liar")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := liar.Sign(fullCard(t)); err == nil {
		t.Fatal("signature by a key other than Public() was not caught")
	}
}

func TestSignReplacesSignatures(t *testing.T) {
	card := fullCard(t)
	card.Signatures = []*a2av1.AgentCardSignature{{Protected: "old", Signature: "old"}}
	a, b := mustSigner(t, "p256", "a"), mustSigner(t, "ed25519", "b")
	out := mustSign(t, card, a, b)
	if len(card.Signatures) != 1 || card.Signatures[0].Protected != "old" {
		t.Fatal("input signatures modified")
	}
	if len(out.Signatures) != 2 {
		t.Fatalf("got %d signatures, want 2", len(out.Signatures))
	}
	for i, want := range []string{"a", "b"} {
		if kid := decodeHeader(t, out.Signatures[i])["kid"]; kid != want {
			t.Errorf("signature %d kid = %v, want %s", i, kid, want)
		}
	}
	out.Signatures = nil
	card.Signatures = nil
	if !proto.Equal(out, card) {
		t.Fatal("signed card differs from input beyond signatures")
	}
}

func TestSignErrors(t *testing.T) {
	s := mustSigner(t, "p256", "a")
	if _, err := Sign(nil, s); err == nil {
		t.Error("nil card accepted")
	}
	if _, err := Sign(fullCard(t)); err == nil {
		t.Error("no signers accepted")
	}
	if _, err := Sign(fullCard(t), s, nil); err == nil {
		t.Error("nil signer accepted")
	}
	if _, err := Sign(fullCard(t), s, mustSigner(t, "ed25519", "a")); err == nil {
		t.Error("duplicate kid accepted")
	}
}
