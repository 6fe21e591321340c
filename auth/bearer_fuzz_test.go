package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	a2agrpc "github.com/a2agrpc/a2agrpc"
)

// FuzzBearerVerify feeds arbitrary tokens to a Bearer trusting one Ed25519
// key (from a PEM file, kid "ed") and btSecret for HS256. Verify must never
// panic, must fail only with Unauthenticated errors, and must accept only
// tokens whose signature checks out, by an independent computation, under
// one of those two keys.
func FuzzBearerVerify(f *testing.F) {
	k := btKeys()
	der, err := x509.MarshalPKIXPublicKey(k.edPub)
	if err != nil {
		f.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	file := btWriteFile(f, f.TempDir(), "ed.pem", pemBytes)
	b, err := NewBearer(context.Background(), BearerConfig{
		KeyFiles:    []string{file},
		HS256Secret: btSecret,
		Issuer:      btIssuer,
		Audience:    []string{btAudience},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(b.Close)

	valid := btSign(f, jwt.SigningMethodEdDSA, k.ed, "ed", btClaims(nil))
	payload := btSegment(f, btClaims(nil))
	for _, seed := range []string{
		valid,
		btSign(f, jwt.SigningMethodEdDSA, k.ed, "", btClaims(nil)),
		btSign(f, jwt.SigningMethodHS256, btSecret, "", btClaims(nil)),
		btSign(f, jwt.SigningMethodHS256, pemBytes, "ed", btClaims(nil)),
		btSign(f, jwt.SigningMethodHS256, []byte(k.edPub), "ed", btClaims(nil)),
		btSign(f, jwt.SigningMethodES256, k.ec256, "ed", btClaims(nil)),
		btSegment(f, map[string]any{"alg": "none"}) + "." + payload + ".",
		btSegment(f, map[string]any{"alg": "EdDSA", "kid": "ed"}) + "." + payload + "." + strings.Split(valid, ".")[2],
		"", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJFZERTQSJ9.bnVsbA.",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, token string) {
		p, err := b.Verify(context.Background(), token)
		if err != nil {
			var ae *a2agrpc.Error
			if !errors.As(err, &ae) || ae.Reason != a2agrpc.ReasonUnauthenticated {
				t.Fatalf("error %v is not Unauthenticated", err)
			}
			if p != nil {
				t.Fatalf("principal %+v returned with error", p)
			}
			_ = BearerChallenge(err) // must not panic either
			return
		}
		if p == nil || p.Subject == "" || p.Scheme != SchemeBearer {
			t.Fatalf("accepted with principal %+v", p)
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token with %d segments", len(parts))
		}
		rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err != nil {
			t.Fatalf("accepted an undecodable header: %v", err)
		}
		// A map, as the verifier reads it: struct decoding would match
		// "ALG" too.
		var header map[string]any
		if err := json.Unmarshal(rawHeader, &header); err != nil {
			t.Fatalf("accepted an unparsable header: %v", err)
		}
		alg, _ := header["alg"].(string)
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatalf("accepted an undecodable signature: %v", err)
		}
		signed := []byte(parts[0] + "." + parts[1])
		switch alg {
		case "EdDSA":
			if !ed25519.Verify(k.edPub, signed, sig) {
				t.Fatalf("accepted an EdDSA token not signed by the test key: %q", token)
			}
		case "HS256":
			mac := hmac.New(sha256.New, btSecret)
			mac.Write(signed)
			if !hmac.Equal(mac.Sum(nil), sig) {
				t.Fatalf("accepted an HS256 token not signed with the test secret: %q", token)
			}
		default:
			t.Fatalf("accepted a token with alg %q, which no test key signs", alg)
		}
	})
}
