package cardsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// minRSABits follows current guidance (NIST SP 800-131A); shorter RSA keys
// are refused for signing and for verification alike.
const minRSABits = 2048

// methods is the closed list of JWS algorithms this package will ever use.
// It references jwt's method values directly instead of jwt.GetSigningMethod
// because that registry is global and mutable, and because HMAC and "none"
// must be impossible to reach: card signatures are public-key only.
var methods = map[string]jwt.SigningMethod{
	"ES256": jwt.SigningMethodES256,
	"ES384": jwt.SigningMethodES384,
	"ES512": jwt.SigningMethodES512,
	"RS256": jwt.SigningMethodRS256,
	"RS384": jwt.SigningMethodRS384,
	"RS512": jwt.SigningMethodRS512,
	"PS256": jwt.SigningMethodPS256,
	"PS384": jwt.SigningMethodPS384,
	"PS512": jwt.SigningMethodPS512,
	"EdDSA": jwt.SigningMethodEdDSA,
}

// ecAlg maps a NIST curve to the one JWS algorithm RFC 7518 pairs it with.
// Binding alg to curve stops a P-256 key being used under ES512's rules.
func ecAlg(c elliptic.Curve) (string, bool) {
	switch c {
	case elliptic.P256():
		return "ES256", true
	case elliptic.P384():
		return "ES384", true
	case elliptic.P521():
		return "ES512", true
	}
	return "", false
}

// checkPublicKey accepts only key types and strengths this package can both
// sign and verify with, so a KeySet can never hold a key that would make
// some algorithm (or an HMAC secret) reachable.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil {
			return fmt.Errorf("cardsign: nil ECDSA key")
		}
		if _, ok := ecAlg(k.Curve); !ok {
			return fmt.Errorf("cardsign: unsupported ECDSA curve (want P-256, P-384 or P-521)")
		}
		if _, err := k.Bytes(); err != nil { // rejects points off the curve
			return fmt.Errorf("cardsign: invalid ECDSA key: %w", err)
		}
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return fmt.Errorf("cardsign: nil RSA key")
		}
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("cardsign: RSA key of %d bits is too short (minimum %d)", k.N.BitLen(), minRSABits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return fmt.Errorf("cardsign: invalid RSA public exponent %d", k.E)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("cardsign: Ed25519 key has %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
	default:
		return fmt.Errorf("cardsign: unsupported public key type %T (want ECDSA, RSA or Ed25519)", pub)
	}
	return nil
}

// keyAllowsAlg reports whether a JWS header's alg may be used with pub. This
// is the defence against algorithm confusion: the algorithm is chosen by the
// trusted key, and the header may only agree with it.
func keyAllowsAlg(pub crypto.PublicKey, alg string) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		want, ok := ecAlg(k.Curve)
		return ok && alg == want
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// defaultAlg is the algorithm a signer uses for pub: the only one for EC and
// Ed25519 keys, RS256 (or PS256 on request) for RSA, whose verifiers in the
// wild support RS256 most widely.
func defaultAlg(pub crypto.PublicKey, pss bool) (string, error) {
	if err := checkPublicKey(pub); err != nil {
		return "", err
	}
	_, isRSA := pub.(*rsa.PublicKey)
	if pss && !isRSA {
		return "", fmt.Errorf("cardsign: WithPSS requires an RSA key, got %T", pub)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		alg, _ := ecAlg(k.Curve)
		return alg, nil
	case *rsa.PublicKey:
		if pss {
			return "PS256", nil
		}
		return "RS256", nil
	default:
		return "EdDSA", nil
	}
}
