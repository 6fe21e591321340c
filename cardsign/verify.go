package cardsign

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gowebpki/jcs"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Input bounds. A card is fetched from the network before it is trusted, so
// every size an attacker controls is capped before any decoding work.
const (
	// maxSignatures caps how many signatures are examined; a publisher
	// needs at most a handful even mid-rotation.
	maxSignatures = 16
	// maxProtectedLen caps the encoded protected header (8 KiB).
	maxProtectedLen = 8 << 10
	// maxSignatureLen caps the encoded signature; RSA-8192 needs 1366.
	maxSignatureLen = 2 << 10
)

// Verify reports which trusted key signed card. It succeeds as soon as one
// signature (of the first maxSignatures) verifies against keys; the others
// may be by keys the client does not know, which is normal during rotation.
//
// On failure the error wraps exactly one sentinel, chosen by the most
// serious problem seen: ErrInvalidSignature (a trusted kid whose signature
// or algorithm is wrong — treat as tampering), then ErrMalformed, then
// ErrUnknownKey; ErrUnsigned when there are no signatures at all.
//
// The payload is recomputed from card with Canonical; a card decoded from
// JSON with protojson verifies exactly when its content matches what was
// signed.
func Verify(card *a2av1.AgentCard, keys *KeySet) (kid string, err error) {
	if card == nil {
		return "", errors.New("cardsign: nil agent card")
	}
	if keys == nil {
		return "", errors.New("cardsign: nil KeySet")
	}
	sigs := card.GetSignatures()
	if len(sigs) == 0 {
		return "", ErrUnsigned
	}
	var encodedPayload string
	payload := func() (string, error) {
		if encodedPayload == "" {
			p, err := Canonical(card)
			if err != nil {
				return "", err
			}
			encodedPayload = b64.EncodeToString(p)
		}
		return encodedPayload, nil
	}

	worst := ErrUnknownKey
	var details []string
	for i, sig := range sigs {
		if i == maxSignatures {
			details = append(details, fmt.Sprintf("only the first %d of %d signatures were examined", maxSignatures, len(sigs)))
			break
		}
		kid, err := verifyOne(sig, keys, payload)
		if err == nil {
			return kid, nil
		}
		if severity(err) > severity(worst) {
			worst = sentinelOf(err)
		}
		details = append(details, fmt.Sprintf("signature %d: %v", i, err))
	}
	return "", fmt.Errorf("%w: %s", worst, strings.Join(details, "; "))
}

func sentinelOf(err error) error {
	for _, s := range []error{ErrInvalidSignature, ErrMalformed, ErrUnknownKey} {
		if errors.Is(err, s) {
			return s
		}
	}
	return ErrInvalidSignature
}

func severity(err error) int {
	switch sentinelOf(err) {
	case ErrInvalidSignature:
		return 3
	case ErrMalformed:
		return 2
	default:
		return 1
	}
}

// verifyOne checks one signature. The order of checks matters: header shape
// first, then the algorithm allow-list (so "none"/HS256 are rejected whatever
// the kid), then the trusted key, then the alg/key pairing, and only then any
// cryptography.
func verifyOne(sig *a2av1.AgentCardSignature, keys *KeySet, payload func() (string, error)) (string, error) {
	if sig == nil {
		return "", fmt.Errorf("%w: empty signature entry", ErrMalformed)
	}
	hdr, err := parseProtected(sig.GetProtected())
	if err != nil {
		return "", err
	}
	if err := checkUnprotected(sig, hdr); err != nil {
		return "", err
	}
	method, ok := methods[hdr.alg]
	if !ok {
		return "", fmt.Errorf("%w: algorithm %s is not accepted (public-key algorithms only)", ErrInvalidSignature, quote(hdr.alg))
	}
	tk, ok := keys.lookup(hdr.kid)
	if !ok {
		return "", fmt.Errorf("%w: kid %s is not trusted", ErrUnknownKey, quote(hdr.kid))
	}
	if !keyAllowsAlg(tk.pub, hdr.alg) || (tk.alg != "" && tk.alg != hdr.alg) {
		return "", fmt.Errorf("%w: algorithm %s may not be used with the key for kid %s", ErrInvalidSignature, quote(hdr.alg), quote(hdr.kid))
	}
	raw, err := decodeB64(sig.GetSignature(), maxSignatureLen)
	if err != nil {
		return "", fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	p, err := payload()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidSignature, err)
	}
	// The signing input uses the protected header exactly as received, so
	// no re-encoding ambiguity can arise.
	if err := method.Verify(sig.GetProtected()+"."+p, raw, tk.pub); err != nil {
		return "", fmt.Errorf("%w: kid %s: %v", ErrInvalidSignature, quote(hdr.kid), err)
	}
	return hdr.kid, nil
}

// header is the subset of the JOSE header Verify acts on.
type header struct {
	alg, kid string
	names    map[string]bool
}

// parseProtected decodes and validates the protected header. Duplicate
// member names are refused (RFC 7515 §4) — JCS detects them for free — and
// so is any "crit" or "b64" member: both change how a JWS must be processed
// and this verifier implements no extensions.
func parseProtected(enc string) (header, error) {
	raw, err := decodeB64(enc, maxProtectedLen)
	if err != nil {
		return header{}, fmt.Errorf("%w: protected header: %v", ErrMalformed, err)
	}
	if _, err := jcs.Transform(raw); err != nil {
		return header{}, fmt.Errorf("%w: protected header is not valid JSON: %v", ErrMalformed, err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return header{}, fmt.Errorf("%w: protected header is not a JSON object", ErrMalformed)
	}
	h := header{names: make(map[string]bool, len(members))}
	for name := range members {
		h.names[name] = true
	}
	if _, ok := members["crit"]; ok {
		return header{}, fmt.Errorf("%w: protected header lists critical extensions this verifier does not implement", ErrMalformed)
	}
	if _, ok := members["b64"]; ok {
		return header{}, fmt.Errorf("%w: unencoded payloads (b64) are not supported", ErrMalformed)
	}
	if h.alg, err = stringMember(members, "alg"); err != nil {
		return header{}, err
	}
	if h.kid, err = stringMember(members, "kid"); err != nil {
		return header{}, err
	}
	return h, nil
}

func stringMember(members map[string]json.RawMessage, name string) (string, error) {
	raw, ok := members[name]
	if !ok {
		return "", fmt.Errorf("%w: protected header lacks %q", ErrMalformed, name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" {
		return "", fmt.Errorf("%w: protected header %q must be a non-empty string", ErrMalformed, name)
	}
	return s, nil
}

// checkUnprotected enforces RFC 7515 §7.2.1: protected and unprotected
// header names must be disjoint, so an unauthenticated "alg" or "kid" can
// never shadow or be confused with the signed one. "crit" must be protected.
func checkUnprotected(sig *a2av1.AgentCardSignature, h header) error {
	for name := range sig.GetHeader().GetFields() {
		if h.names[name] || name == "crit" {
			return fmt.Errorf("%w: unprotected header repeats or carries %s", ErrMalformed, quote(name))
		}
	}
	return nil
}

// decodeB64 is strict base64url without padding. Go's decoder skips CR/LF,
// which would make the encoding malleable, so they are refused explicitly.
func decodeB64(s string, maxLen int) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	if len(s) > maxLen {
		return nil, fmt.Errorf("longer than %d bytes", maxLen)
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("contains line breaks")
	}
	b, err := b64.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64url without padding")
	}
	return b, nil
}

// quote renders attacker-supplied text for an error message: quoted (no log
// injection) and truncated (no log flooding).
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		return fmt.Sprintf("%q…", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
