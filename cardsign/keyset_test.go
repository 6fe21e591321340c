package cardsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writePEM(t *testing.T, dir, name string, blocks ...*pem.Block) string {
	t.Helper()
	var data []byte
	for _, b := range blocks {
		data = append(data, pem.EncodeToMemory(b)...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pkcs8(t *testing.T, k crypto.Signer) *pem.Block {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

func pkixPEM(t *testing.T, pub crypto.PublicKey) *pem.Block {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PUBLIC KEY", Bytes: der}
}

func selfSigned(t *testing.T, k crypto.Signer) *pem.Block {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "agent.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "CERTIFICATE", Bytes: der}
}

func TestLoadSignerAndKeySetFromPEM(t *testing.T) {
	dir := t.TempDir()
	ecKey := testKey(t, "p256").(*ecdsa.PrivateKey)
	rsaKey := testKey(t, "rsa").(*rsa.PrivateKey)
	edKey := testKey(t, "ed25519")
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}

	type pair struct{ priv, pub string }
	files := map[string]pair{
		"pkcs8-ec": {writePEM(t, dir, "ec8.key", pkcs8(t, ecKey)), writePEM(t, dir, "pkcs8-ec.pem", pkixPEM(t, ecKey.Public()))},
		// openssl ecparam -genkey writes EC PARAMETERS before the key.
		"sec1": {writePEM(t, dir, "sec1.key", &pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}, &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
			writePEM(t, dir, "sec1.crt", selfSigned(t, ecKey))},
		"pkcs1": {writePEM(t, dir, "rsa.key", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
			writePEM(t, dir, "pkcs1.pub", &pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})},
		"pkcs8-ed": {writePEM(t, dir, "ed.key", pkcs8(t, edKey)),
			// A chain file: only the leaf (first certificate) is used.
			writePEM(t, dir, "pkcs8-ed.chain.pem", selfSigned(t, edKey), selfSigned(t, ecKey))},
	}
	var pubPaths []string
	for _, f := range files {
		pubPaths = append(pubPaths, f.pub)
	}
	keys, err := LoadKeySet(pubPaths...)
	if err != nil {
		t.Fatal(err)
	}
	// kid = base name minus its final extension.
	want := []string{"pkcs1", "pkcs8-ec", "pkcs8-ed.chain", "sec1"}
	if got := keys.KeyIDs(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("KeyIDs = %v, want %v", got, want)
	}
	for kid, f := range files {
		if kid == "pkcs8-ed" {
			kid = "pkcs8-ed.chain"
		}
		s, err := LoadSigner(f.priv, kid)
		if err != nil {
			t.Fatalf("LoadSigner(%s): %v", f.priv, err)
		}
		if got, err := Verify(mustSign(t, fullCard(t), s), keys); err != nil || got != kid {
			t.Fatalf("%s: Verify = %q, %v", kid, got, err)
		}
	}
}

func TestLoadKeySetPEMKidHeader(t *testing.T) {
	dir := t.TempDir()
	block := pkixPEM(t, testKey(t, "ed25519").Public())
	block.Headers = map[string]string{"kid": "2025-06"}
	keys, err := LoadKeySet(writePEM(t, dir, "whatever.pem", block))
	if err != nil {
		t.Fatal(err)
	}
	if got := keys.KeyIDs(); len(got) != 1 || got[0] != "2025-06" {
		t.Fatalf("KeyIDs = %v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	priv := writePEM(t, dir, "priv.pem", pkcs8(t, testKey(t, "p256")))
	pub := writePEM(t, dir, "pub.pem", pkixPEM(t, testKey(t, "p256").Public()))
	encrypted := writePEM(t, dir, "enc.pem", &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})
	legacyEnc := writePEM(t, dir, "legacy.pem", &pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}})
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	huge := filepath.Join(dir, "huge.pem")
	os.WriteFile(huge, make([]byte, maxKeyFileSize+1), 0o600)
	smallRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	weak := writePEM(t, dir, "weak.pem", pkixPEM(t, smallRSA.Public()))

	for name, path := range map[string]string{"missing": filepath.Join(dir, "nope"), "public": pub, "encrypted": encrypted, "legacy encrypted": legacyEnc, "garbage": garbage, "huge": huge} {
		if _, err := LoadSigner(path, "k"); err == nil {
			t.Errorf("LoadSigner(%s) succeeded", name)
		}
	}
	for name, paths := range map[string][]string{"none": nil, "private": {priv}, "garbage": {garbage}, "weak rsa": {weak}, "missing": {pub, filepath.Join(dir, "nope")}} {
		if _, err := LoadKeySet(paths...); err == nil {
			t.Errorf("LoadKeySet(%s) succeeded", name)
		}
	}
}

func TestJWKSRoundTrip(t *testing.T) {
	signers := []*Signer{
		mustSigner(t, "p256", "ec256"), mustSigner(t, "p384", "ec384"), mustSigner(t, "p521", "ec521"),
		mustSigner(t, "rsa", "rsa"), mustSigner(t, "ed25519", "ed"),
	}
	doc, err := keySetFor(t, signers...).JWKS()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), `"d"`) {
		t.Fatalf("JWKS leaks private material: %s", doc)
	}
	var parsed struct{ Keys []map[string]string }
	if err := json.Unmarshal(doc, &parsed); err != nil {
		t.Fatal(err)
	}
	if len(parsed.Keys) != 5 || parsed.Keys[0]["kid"] != "ec256" || parsed.Keys[0]["alg"] != "ES256" ||
		parsed.Keys[3]["crv"] != "Ed25519" || parsed.Keys[4]["kty"] != "RSA" || parsed.Keys[4]["alg"] != "" {
		t.Fatalf("unexpected JWKS: %s", doc)
	}

	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := LoadKeySet(path)
	if err != nil {
		t.Fatal(err)
	}
	fromBytes, err := ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range signers {
		signed := mustSign(t, fullCard(t), s)
		for _, ks := range []*KeySet{fromFile, fromBytes} {
			if kid, err := Verify(signed, ks); err != nil || kid != s.KeyID() {
				t.Fatalf("%s: Verify = %q, %v", s.KeyID(), kid, err)
			}
		}
	}
	// Re-publishing a parsed set is stable.
	again, err := fromBytes.JWKS()
	if err != nil || string(again) != string(doc) {
		t.Fatalf("JWKS not stable:\n%s\n%s", doc, again)
	}
}

func TestParseJWKSFiltersAndRejects(t *testing.T) {
	ec := testKey(t, "p256").(*ecdsa.PrivateKey)
	good, _ := toJWK("good", ec.Public(), "")
	edPub := testKey(t, "ed25519").Public().(ed25519.PublicKey)
	set := func(keys ...any) []byte {
		b, _ := json.Marshal(map[string]any{"keys": keys})
		return b
	}
	mixed := set(good,
		map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
		map[string]any{"kty": "EC", "kid": "enc", "use": "enc", "crv": "P-256", "x": good.X, "y": good.Y},
		map[string]any{"kty": "OKP", "kid": "x25519", "crv": "X25519", "x": b64.EncodeToString(edPub)},
		map[string]any{"kty": "EC", "kid": "wrap", "key_ops": []string{"wrapKey"}, "crv": "P-256", "x": good.X, "y": good.Y},
	)
	ks, err := ParseJWKS(mixed)
	if err != nil {
		t.Fatal(err)
	}
	if got := ks.KeyIDs(); len(got) != 1 || got[0] != "good" {
		t.Fatalf("KeyIDs = %v, want only the signature key", got)
	}
	single, _ := json.Marshal(good)
	if ks, err := ParseJWKS(single); err != nil || len(ks.KeyIDs()) != 1 {
		t.Fatalf("single JWK: %v", err)
	}

	offCurve := good
	yb, _ := b64.DecodeString(good.Y)
	yb[len(yb)-1] ^= 1
	offCurve.Y = b64.EncodeToString(yb)
	short := good
	short.X = good.X[2:]
	noKid := good
	noKid.Kid = ""
	private := good
	private.D = "AAAA"
	wrongPin := good
	wrongPin.Alg = "ES384"
	hmacPin := good
	hmacPin.Alg = "HS256"
	weakRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	weak, _ := toJWK("weak", weakRSA.Public(), "")
	badB64 := good
	badB64.X = "***"
	for name, doc := range map[string][]byte{
		"off curve": set(offCurve), "short x": set(short), "no kid": set(noKid), "private d": set(private),
		"alg pin mismatch": set(wrongPin), "hmac pin": set(hmacPin), "rsa 1024": set(weak), "bad base64": set(badB64),
		"only symmetric": set(map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
		"empty":          []byte(`{"keys":[]}`), "not json": []byte(`{"keys":`), "not object": []byte(`[]`),
		"duplicate kid": set(good, func() jwk { j, _ := toJWK("good", edPub, ""); return j }()),
	} {
		if _, err := ParseJWKS(doc); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestKeySetAdd(t *testing.T) {
	ks := NewKeySet()
	pub := testKey(t, "p256").Public()
	if err := ks.Add("k", pub); err != nil {
		t.Fatal(err)
	}
	if err := ks.Add("k", pub); err != nil {
		t.Fatalf("re-adding the same key: %v", err)
	}
	if err := ks.Add("k", testKey(t, "p256b").Public()); err == nil {
		t.Fatal("kid silently rebound to a different key")
	}
	for name, bad := range map[string]crypto.PublicKey{
		"nil": nil, "bytes": []byte("secret"), "short ed25519": ed25519.PublicKey{1, 2, 3},
		"private key": testKey(t, "p256"), "nil ecdsa": (*ecdsa.PublicKey)(nil),
	} {
		if err := ks.Add("x", bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := ks.Add("", pub); err == nil {
		t.Error("empty kid accepted")
	}
	var zero KeySet // the zero value is usable
	if err := zero.Add("k", pub); err != nil {
		t.Fatal(err)
	}
}
