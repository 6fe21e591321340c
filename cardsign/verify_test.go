package cardsign

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// forge builds a signature with an arbitrary protected header, signed by any
// jwt method and key — the tool an attacker has.
func forge(t *testing.T, card *a2av1.AgentCard, hdr map[string]any, alg string, key any) *a2av1.AgentCardSignature {
	t.Helper()
	raw, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := Canonical(card)
	if err != nil {
		t.Fatal(err)
	}
	protected := b64.EncodeToString(raw)
	var sig []byte
	if alg != "none" {
		if sig, err = jwt.GetSigningMethod(alg).Sign(protected+"."+b64.EncodeToString(payload), key); err != nil {
			t.Fatal(err)
		}
	}
	return &a2av1.AgentCardSignature{Protected: protected, Signature: b64.EncodeToString(sig)}
}

func withSigs(card *a2av1.AgentCard, sigs ...*a2av1.AgentCardSignature) *a2av1.AgentCard {
	out := proto.CloneOf(card)
	out.Signatures = sigs
	return out
}

func wantErr(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
}

func TestVerifyUnsignedAndUnknown(t *testing.T) {
	s := mustSigner(t, "p256", "mine")
	_, err := Verify(fullCard(t), keySetFor(t, s))
	wantErr(t, err, ErrUnsigned)

	other := mustSigner(t, "p256b", "theirs")
	_, err = Verify(mustSign(t, fullCard(t), other), keySetFor(t, s))
	wantErr(t, err, ErrUnknownKey)
	if errors.Is(err, ErrInvalidSignature) {
		t.Fatal("unknown key must not also read as invalid")
	}

	if _, err := Verify(nil, keySetFor(t, s)); err == nil {
		t.Fatal("nil card accepted")
	}
	if _, err := Verify(fullCard(t), nil); err == nil {
		t.Fatal("nil KeySet accepted")
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	s := mustSigner(t, "p256", "k")
	keys := keySetFor(t, s)
	signed := mustSign(t, fullCard(t), s)
	tamper := map[string]func(c *a2av1.AgentCard){
		"name":            func(c *a2av1.AgentCard) { c.Name += "!" },
		"skill tag":       func(c *a2av1.AgentCard) { c.Skills[0].Tags[1] = "forecasts" },
		"interface url":   func(c *a2av1.AgentCard) { c.SupportedInterfaces[0].Url = "https://evil.example/a2a" },
		"interface order": func(c *a2av1.AgentCard) { slices.Reverse(c.SupportedInterfaces) },
		"scheme replaced": func(c *a2av1.AgentCard) { delete(c.SecuritySchemes, "oauth") },
		"scope added": func(c *a2av1.AgentCard) {
			c.SecuritySchemes["oauth"].GetOauth2SecurityScheme().GetFlows().GetClientCredentials().Scopes["admin"] = "x"
		},
		"scheme added":     func(c *a2av1.AgentCard) { c.SecuritySchemes["mtls"] = &a2av1.SecurityScheme{} },
		"field added":      func(c *a2av1.AgentCard) { c.IconUrl = proto.String("https://evil.example/i.png") },
		"empty optional":   func(c *a2av1.AgentCard) { c.IconUrl = proto.String("") },
		"presence dropped": func(c *a2av1.AgentCard) { c.Capabilities.PushNotifications = nil },
		"extension param": func(c *a2av1.AgentCard) {
			c.Capabilities.Extensions[0].Params.Fields["mode"] = structpb.NewStringValue("slow")
		},
		"signature bit": func(c *a2av1.AgentCard) {
			raw, _ := b64.DecodeString(c.Signatures[0].Signature)
			raw[5] ^= 1
			c.Signatures[0].Signature = b64.EncodeToString(raw)
		},
	}
	for name, mutate := range tamper {
		t.Run(name, func(t *testing.T) {
			c := proto.CloneOf(signed)
			mutate(c)
			_, err := Verify(c, keys)
			wantErr(t, err, ErrInvalidSignature)
		})
	}
	if _, err := Verify(signed, keys); err != nil {
		t.Fatalf("untampered card: %v", err)
	}
}

func TestVerifyWrongKeyForKid(t *testing.T) {
	s := mustSigner(t, "p256", "k")
	keys := NewKeySet()
	if err := keys.Add("k", testKey(t, "p256b").Public()); err != nil {
		t.Fatal(err)
	}
	_, err := Verify(mustSign(t, fullCard(t), s), keys)
	wantErr(t, err, ErrInvalidSignature)
}

func TestVerifyOrderAndAdditionsDoNotMatter(t *testing.T) {
	oldKey, newKey := mustSigner(t, "rsa", "2024"), mustSigner(t, "ed25519", "2025")
	signed := mustSign(t, fullCard(t), oldKey, newKey)
	onlyNew := keySetFor(t, newKey)

	stranger := mustSigner(t, "p384", "stranger")
	extra, err := stranger.Sign(signed)
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string][]*a2av1.AgentCardSignature{
		"as signed":        signed.Signatures,
		"reversed":         {signed.Signatures[1], signed.Signatures[0]},
		"stranger first":   {extra, signed.Signatures[0], signed.Signatures[1]},
		"junk first":       {{Protected: "!!", Signature: "??"}, nil, signed.Signatures[1]},
		"trusted appended": {extra, {Protected: "e30", Signature: "AA"}, signed.Signatures[1]},
	}
	for name, sigs := range variants {
		kid, err := Verify(withSigs(signed, sigs...), onlyNew)
		if err != nil || kid != "2025" {
			t.Errorf("%s: Verify = %q, %v", name, kid, err)
		}
	}
	// Appending a later signature to an already signed card keeps it valid
	// for holders of either key.
	appended := withSigs(signed, append(slices.Clone(signed.Signatures), extra)...)
	if kid, err := Verify(appended, keySetFor(t, stranger)); err != nil || kid != "stranger" {
		t.Fatalf("appended: Verify = %q, %v", kid, err)
	}
}

func TestVerifyRejectsAlgNone(t *testing.T) {
	s := mustSigner(t, "p256", "k")
	keys := keySetFor(t, s)
	card := fullCard(t)
	for _, hdr := range []map[string]any{
		{"alg": "none", "kid": "k", "typ": "JOSE"},
		{"alg": "None", "kid": "k"},
		{"alg": "none", "kid": "unknown"},
	} {
		sig := forge(t, card, hdr, "none", nil)
		sig.Signature = "" // "none" has an empty signature
		_, err := Verify(withSigs(card, sig), keys)
		wantErr(t, err, ErrInvalidSignature)
		sig.Signature = "AA"
		_, err = Verify(withSigs(card, sig), keys)
		wantErr(t, err, ErrInvalidSignature)
	}
}

// TestVerifyRejectsHMACConfusion is the classic attack: take the verifier's
// public key bytes, use them as an HMAC secret, and claim alg HS256.
func TestVerifyRejectsHMACConfusion(t *testing.T) {
	card := fullCard(t)
	for _, kind := range []string{"rsa", "p256", "ed25519"} {
		s := mustSigner(t, kind, "k-"+kind)
		keys := keySetFor(t, s)
		der, err := x509.MarshalPKIXPublicKey(s.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		for _, secret := range [][]byte{der, pemBytes} {
			for _, alg := range []string{"HS256", "HS384", "HS512"} {
				sig := forge(t, card, map[string]any{"alg": alg, "kid": s.KeyID(), "typ": "JOSE"}, alg, secret)
				_, err := Verify(withSigs(card, sig), keys)
				wantErr(t, err, ErrInvalidSignature)
			}
		}
	}
	if err := NewKeySet().Add("hmac", []byte("secret")); err == nil {
		t.Fatal("KeySet accepted an HMAC secret")
	}
}

// TestVerifyRejectsAlgKeyMismatch: a valid signature is still refused when
// the header names an algorithm the trusted key may not be used with.
func TestVerifyRejectsAlgKeyMismatch(t *testing.T) {
	card := fullCard(t)
	rsaKey := testKey(t, "rsa")
	// The RSA key is trusted under "k", but the header claims ES256 with a
	// genuine P-256 signature.
	keys := NewKeySet()
	if err := keys.Add("k", rsaKey.Public()); err != nil {
		t.Fatal(err)
	}
	sig := forge(t, card, map[string]any{"alg": "ES256", "kid": "k"}, "ES256", testKey(t, "p256"))
	_, err := Verify(withSigs(card, sig), keys)
	wantErr(t, err, ErrInvalidSignature)

	// A P-256 key may not verify under ES384 rules even with a P-384 key's
	// valid signature.
	ecKeys := NewKeySet()
	if err := ecKeys.Add("ec", testKey(t, "p256").Public()); err != nil {
		t.Fatal(err)
	}
	sig = forge(t, card, map[string]any{"alg": "ES384", "kid": "ec"}, "ES384", testKey(t, "p384"))
	_, err = Verify(withSigs(card, sig), ecKeys)
	wantErr(t, err, ErrInvalidSignature)

	// A JWKS "alg" pins the key: a genuine PS256 signature by the same RSA
	// key is refused when the set says RS256.
	pss := mustSigner(t, "rsa", "pinned", WithPSS())
	j, err := toJWK("pinned", rsaKey.Public(), "RS256")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(jwkSet{Keys: []jwk{j}})
	pinned, err := ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify(mustSign(t, card, pss), pinned)
	wantErr(t, err, ErrInvalidSignature)
	if _, err := Verify(mustSign(t, card, mustSigner(t, "rsa", "pinned")), pinned); err != nil {
		t.Fatalf("RS256 under RS256 pin: %v", err)
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	s := mustSigner(t, "p256", "k")
	keys := keySetFor(t, s)
	card := fullCard(t)
	good := mustSign(t, card, s).Signatures[0]
	enc := func(v string) string { return b64.EncodeToString([]byte(v)) }
	valid := func(hdr map[string]any) *a2av1.AgentCardSignature {
		return forge(t, card, hdr, "ES256", testKey(t, "p256"))
	}
	unprotected, _ := structpb.NewStruct(map[string]any{"kid": "other"})
	cases := map[string]*a2av1.AgentCardSignature{
		"protected not base64":  {Protected: "***", Signature: good.Signature},
		"protected padded":      {Protected: good.Protected + "=", Signature: good.Signature},
		"protected with CRLF":   {Protected: good.Protected[:4] + "\r\n" + good.Protected[4:], Signature: good.Signature},
		"protected not JSON":    {Protected: enc("alg=ES256"), Signature: good.Signature},
		"protected array":       {Protected: enc(`["ES256"]`), Signature: good.Signature},
		"protected null":        {Protected: enc(`null`), Signature: good.Signature},
		"duplicate alg":         {Protected: enc(`{"alg":"ES256","kid":"k","alg":"none"}`), Signature: good.Signature},
		"missing kid":           {Protected: enc(`{"alg":"ES256"}`), Signature: good.Signature},
		"missing alg":           {Protected: enc(`{"kid":"k"}`), Signature: good.Signature},
		"alg not string":        {Protected: enc(`{"alg":256,"kid":"k"}`), Signature: good.Signature},
		"oversized protected":   {Protected: strings.Repeat("A", maxProtectedLen+1), Signature: good.Signature},
		"signature not base64":  {Protected: good.Protected, Signature: "a+b/"},
		"signature empty":       {Protected: good.Protected, Signature: ""},
		"signature oversized":   {Protected: good.Protected, Signature: strings.Repeat("A", maxSignatureLen+1)},
		"crit extension":        valid(map[string]any{"alg": "ES256", "kid": "k", "crit": []string{"exp"}, "exp": 1}),
		"b64 false":             valid(map[string]any{"alg": "ES256", "kid": "k", "b64": false, "crit": []string{"b64"}}),
		"b64 without crit":      valid(map[string]any{"alg": "ES256", "kid": "k", "b64": true}),
		"unprotected shadowing": {Protected: good.Protected, Signature: good.Signature, Header: unprotected},
	}
	for name, sig := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(withSigs(card, sig), keys)
			wantErr(t, err, ErrMalformed)
		})
	}
	// An unrelated unprotected header member is allowed.
	note, _ := structpb.NewStruct(map[string]any{"note": "rotated 2025"})
	ok := &a2av1.AgentCardSignature{Protected: good.Protected, Signature: good.Signature, Header: note}
	if _, err := Verify(withSigs(card, ok), keys); err != nil {
		t.Fatalf("benign unprotected header: %v", err)
	}
}

func TestVerifyExaminesAtMost16Signatures(t *testing.T) {
	s := mustSigner(t, "p256", "k")
	keys := keySetFor(t, s)
	card := fullCard(t)
	good := mustSign(t, card, s).Signatures[0]
	junk := func(n int) []*a2av1.AgentCardSignature {
		out := make([]*a2av1.AgentCardSignature, n)
		for i := range out {
			out[i] = &a2av1.AgentCardSignature{Protected: "e30", Signature: "AA"}
		}
		return out
	}
	if _, err := Verify(withSigs(card, append(junk(maxSignatures-1), good)...), keys); err != nil {
		t.Fatalf("valid 16th signature: %v", err)
	}
	_, err := Verify(withSigs(card, append(junk(maxSignatures), good)...), keys)
	wantErr(t, err, ErrMalformed)
	if !strings.Contains(err.Error(), "first 16") {
		t.Fatalf("error does not mention the cap: %v", err)
	}
}

// TestVerifyAfterJSONTransport mirrors a client fetching the card over HTTP:
// whatever JSON options the server used, decoding restores the same logical
// card and the signature holds.
func TestVerifyAfterJSONTransport(t *testing.T) {
	s := mustSigner(t, "ed25519", "k")
	keys := keySetFor(t, s)
	card := fullCard(t)
	card.Capabilities.ExtendedAgentCard = proto.Bool(false)
	signed := mustSign(t, card, s)
	for name, opts := range map[string]protojson.MarshalOptions{
		"default":        {},
		"multiline":      {Multiline: true, Indent: "    "},
		"proto names":    {UseProtoNames: true},
		"emit defaults":  {EmitUnpopulated: true},
		"default values": {EmitDefaultValues: true},
	} {
		t.Run(name, func(t *testing.T) {
			wire, err := opts.Marshal(signed)
			if err != nil {
				t.Fatal(err)
			}
			var got a2av1.AgentCard
			if err := protojson.Unmarshal(wire, &got); err != nil {
				t.Fatal(err)
			}
			if kid, err := Verify(&got, keys); err != nil || kid != "k" {
				t.Fatalf("Verify = %q, %v\nwire: %s", kid, err, wire)
			}
		})
	}
	// Binary transport (gRPC GetExtendedAgentCard) too.
	bin, err := proto.Marshal(signed)
	if err != nil {
		t.Fatal(err)
	}
	var got a2av1.AgentCard
	if err := proto.Unmarshal(bin, &got); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(&got, keys); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyConcurrentWithRotation(t *testing.T) {
	s := mustSigner(t, "p256", "k")
	keys := keySetFor(t, s)
	signed := mustSign(t, fullCard(t), s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := Verify(signed, keys); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := keys.Add(fmt.Sprintf("rotated-%d", i), testKey(t, "ed25519").Public()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(keys.KeyIDs()); n != 9 {
		t.Fatalf("KeyIDs = %d, want 9", n)
	}
}
