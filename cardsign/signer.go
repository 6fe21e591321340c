package cardsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// b64 is base64url without padding, the only encoding JWS uses.
var b64 = base64.RawURLEncoding

// Signer produces Agent Card signatures with one private key under one kid.
// It is immutable after construction and safe for concurrent use.
type Signer struct {
	key       crypto.Signer
	pub       crypto.PublicKey
	kid       string
	alg       string
	protected string // BASE64URL(protected header), fixed per signer
}

// SignerOption configures NewSigner.
type SignerOption func(*signerConfig) error

type signerConfig struct {
	jku string
	pss bool
}

// WithJKU advertises, in the protected header, the URL where verifiers can
// obtain the JWK Set holding this key. It must be an absolute https URL
// (RFC 7515 §4.1.2 requires TLS). Verifiers in this package never fetch it;
// it only helps operators wire up trust.
func WithJKU(jku string) SignerOption {
	return func(c *signerConfig) error {
		u, err := url.Parse(jku)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("cardsign: jku %q must be an absolute https URL", jku)
		}
		c.jku = jku
		return nil
	}
}

// WithPSS makes an RSA signer use PS256 instead of RS256. It is an error
// with any other key type, so a misconfiguration is not silently ignored.
func WithPSS() SignerOption {
	return func(c *signerConfig) error {
		c.pss = true
		return nil
	}
}

// protectedHeader is marshaled with fixed field order so a signer's header
// bytes are stable across runs.
type protectedHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
	Jku string `json:"jku,omitempty"`
}

// NewSigner derives the JWS algorithm from the key: ECDSA P-256/P-384/P-521
// → ES256/ES384/ES512, RSA (≥2048 bits) → RS256 (PS256 with WithPSS),
// Ed25519 → EdDSA. Any crypto.Signer works, including HSM/KMS-backed keys
// that are not the standard library's concrete types.
func NewSigner(key crypto.Signer, kid string, opts ...SignerOption) (*Signer, error) {
	if key == nil {
		return nil, errors.New("cardsign: nil signing key")
	}
	if kid == "" {
		return nil, errors.New("cardsign: empty kid")
	}
	var cfg signerConfig
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	pub := key.Public()
	alg, err := defaultAlg(pub, cfg.pss)
	if err != nil {
		return nil, err
	}
	hdr, err := json.Marshal(protectedHeader{Alg: alg, Typ: "JOSE", Kid: kid, Jku: cfg.jku})
	if err != nil {
		return nil, fmt.Errorf("cardsign: encode protected header: %w", err)
	}
	return &Signer{key: key, pub: pub, kid: kid, alg: alg, protected: b64.EncodeToString(hdr)}, nil
}

// PublicKey returns the key verifiers need, e.g. to add to a KeySet.
func (s *Signer) PublicKey() crypto.PublicKey { return s.pub }

// KeyID returns the kid placed in every signature's protected header.
func (s *Signer) KeyID() string { return s.kid }

// Algorithm returns the JWS alg this signer uses.
func (s *Signer) Algorithm() string { return s.alg }

// Sign returns a signature over card's canonical form. The card's existing
// signatures do not affect it, so the result can be appended to them.
func (s *Signer) Sign(card *a2av1.AgentCard) (*a2av1.AgentCardSignature, error) {
	payload, err := Canonical(card)
	if err != nil {
		return nil, err
	}
	return s.signPayload(payload)
}

func (s *Signer) signPayload(payload []byte) (*a2av1.AgentCardSignature, error) {
	input := s.protected + "." + b64.EncodeToString(payload)
	method := methods[s.alg]
	var sig []byte
	var err error
	switch s.key.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey, *ed25519.PrivateKey:
		sig, err = method.Sign(input, concreteKey(s.key))
	default:
		sig, err = signOpaque(s.key, s.alg, input)
	}
	if err != nil {
		return nil, fmt.Errorf("cardsign: sign with kid %q: %w", s.kid, err)
	}
	// A KMS or HSM may sign with a key other than the one Public() reports;
	// catching that here is far cheaper than debugging it at every client.
	if err := method.Verify(input, sig, s.pub); err != nil {
		return nil, fmt.Errorf("cardsign: signature by kid %q does not verify with its own public key: %w", s.kid, err)
	}
	return &a2av1.AgentCardSignature{Protected: s.protected, Signature: b64.EncodeToString(sig)}, nil
}

// concreteKey normalizes *ed25519.PrivateKey, which some parsers return, to
// the value type jwt and crypto/ed25519 expect.
func concreteKey(k crypto.Signer) crypto.Signer {
	if p, ok := k.(*ed25519.PrivateKey); ok {
		return *p
	}
	return k
}

// Sign returns a copy of card whose signatures are replaced by one signature
// per signer, in order. Signing with several keys at once is how a publisher
// rotates keys without a window where some clients cannot verify. The input
// card is not modified.
func Sign(card *a2av1.AgentCard, signers ...*Signer) (*a2av1.AgentCard, error) {
	if card == nil {
		return nil, errors.New("cardsign: nil agent card")
	}
	if len(signers) == 0 {
		return nil, errors.New("cardsign: no signers")
	}
	seen := make(map[string]bool, len(signers))
	for _, s := range signers {
		if s == nil {
			return nil, errors.New("cardsign: nil signer")
		}
		if seen[s.kid] {
			return nil, fmt.Errorf("cardsign: two signers share kid %q", s.kid)
		}
		seen[s.kid] = true
	}
	payload, err := Canonical(card)
	if err != nil {
		return nil, err
	}
	sigs := make([]*a2av1.AgentCardSignature, 0, len(signers))
	for _, s := range signers {
		sig, err := s.signPayload(payload)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, sig)
	}
	out := proto.CloneOf(card)
	out.Signatures = sigs
	return out, nil
}
