package cardsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// jwk holds the RFC 7517/7518/8037 members this package reads or writes.
// The stdlib is used instead of a JWK library so that exactly the accepted
// key shapes are visible here, and symmetric ("oct") keys have no code path.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid,omitempty"`
	Use    string   `json:"use,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	D      string   `json:"d,omitempty"` // read only to refuse private keys
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// ParseJWKS builds a KeySet from a JWK Set document ({"keys":[...]}) or a
// single JWK. Keys that are not for signature verification are skipped
// ("use":"enc", key_ops without "verify", kty "oct" or unsupported curves),
// so a mixed published set works; signature keys must be well formed, carry
// a kid and no private members, or the whole set is rejected, since a
// half-loaded trust set is worse than a loud failure. A key's "alg", when
// present, pins it to that one algorithm.
func ParseJWKS(data []byte) (*KeySet, error) {
	ks := NewKeySet()
	if err := ks.addJWKS(data); err != nil {
		return nil, err
	}
	return ks, nil
}

func (k *KeySet) addJWKS(data []byte) error {
	if len(data) > maxKeyFileSize {
		return fmt.Errorf("cardsign: JWKS exceeds %d bytes", maxKeyFileSize)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("cardsign: parse JWKS: %w", err)
	}
	var keys []jwk
	if _, single := probe["kty"]; single {
		var one jwk
		if err := json.Unmarshal(data, &one); err != nil {
			return fmt.Errorf("cardsign: parse JWK: %w", err)
		}
		keys = []jwk{one}
	} else {
		var set jwkSet
		if err := json.Unmarshal(data, &set); err != nil {
			return fmt.Errorf("cardsign: parse JWKS: %w", err)
		}
		keys = set.Keys
	}
	added := 0
	for i, j := range keys {
		if !j.forVerification() {
			continue
		}
		pub, err := j.publicKey()
		if err != nil {
			return fmt.Errorf("cardsign: JWKS key %d (kid %q): %w", i, j.Kid, err)
		}
		if j.Kid == "" {
			return fmt.Errorf("cardsign: JWKS key %d has no kid", i)
		}
		if err := k.add(j.Kid, pub, j.Alg); err != nil {
			return err
		}
		added++
	}
	if added == 0 {
		return errors.New("cardsign: JWKS holds no signature verification keys")
	}
	return nil
}

func (j *jwk) forVerification() bool {
	if j.Use != "" && j.Use != "sig" {
		return false
	}
	if len(j.KeyOps) > 0 && !slices.Contains(j.KeyOps, "verify") {
		return false
	}
	switch j.Kty {
	case "EC", "RSA":
		return true
	case "OKP":
		return j.Crv == "Ed25519"
	}
	return false
}

func (j *jwk) publicKey() (crypto.PublicKey, error) {
	if j.D != "" {
		return nil, errors.New("contains private key material (d); publish public keys only")
	}
	switch j.Kty {
	case "EC":
		curve, size := curveByName(j.Crv)
		if curve == nil {
			return nil, fmt.Errorf("unsupported EC curve %q", j.Crv)
		}
		x, errX := b64.Strict().DecodeString(j.X)
		y, errY := b64.Strict().DecodeString(j.Y)
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return nil, fmt.Errorf("x and y must be %d-byte base64url values", size)
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, err
		}
		return pub, nil
	case "RSA":
		n, errN := b64.Strict().DecodeString(j.N)
		e, errE := b64.Strict().DecodeString(j.E)
		if errN != nil || errE != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("n and e must be base64url big-endian integers")
		}
		exp := new(big.Int).SetBytes(e)
		if !exp.IsInt64() || exp.Int64() > 1<<31-1 {
			return nil, errors.New("RSA exponent too large")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
	default: // OKP Ed25519, per forVerification
		x, err := b64.Strict().DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("x must be a %d-byte base64url value", ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(x), nil
	}
}

func curveByName(crv string) (elliptic.Curve, int) {
	switch crv {
	case "P-256":
		return elliptic.P256(), 32
	case "P-384":
		return elliptic.P384(), 48
	case "P-521":
		return elliptic.P521(), 66
	}
	return nil, 0
}

// JWKS renders the set as a JWK Set document, sorted by kid, suitable for
// serving as jwks.json so clients can build their KeySet with ParseJWKS.
// Every entry has "use":"sig"; "alg" is included when it is determined by
// the key (EC, Ed25519) or was pinned, and left out for unpinned RSA keys,
// which may verify both RS* and PS* signatures.
func (k *KeySet) JWKS() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	set := jwkSet{Keys: make([]jwk, 0, len(ids))}
	for _, id := range ids {
		tk := k.keys[id]
		j, err := toJWK(id, tk.pub, tk.alg)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}

func toJWK(kid string, pub crypto.PublicKey, alg string) (jwk, error) {
	j := jwk{Kid: kid, Use: "sig", Alg: alg}
	switch key := pub.(type) {
	case *ecdsa.PublicKey:
		point, err := key.Bytes()
		if err != nil {
			return jwk{}, fmt.Errorf("cardsign: encode kid %q: %w", kid, err)
		}
		size := (len(point) - 1) / 2
		j.Kty, j.Crv = "EC", key.Curve.Params().Name
		j.X = b64.EncodeToString(point[1 : 1+size])
		j.Y = b64.EncodeToString(point[1+size:])
		j.Alg, _ = ecAlg(key.Curve)
	case *rsa.PublicKey:
		j.Kty = "RSA"
		j.N = b64.EncodeToString(key.N.Bytes())
		j.E = b64.EncodeToString(big.NewInt(int64(key.E)).Bytes())
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.Alg = "OKP", "Ed25519", "EdDSA"
		j.X = b64.EncodeToString(key)
	default:
		return jwk{}, fmt.Errorf("cardsign: cannot encode %T as JWK", pub)
	}
	return j, nil
}
