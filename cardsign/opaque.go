package cardsign

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// signOpaque signs through the crypto.Signer interface for keys jwt cannot
// use directly (jwt's ECDSA and RSA methods require the concrete standard
// library private key types, which HSM/KMS keys are not).
func signOpaque(key crypto.Signer, alg, input string) ([]byte, error) {
	switch m := methods[alg].(type) {
	case *jwt.SigningMethodECDSA:
		h := m.Hash.New()
		h.Write([]byte(input))
		der, err := key.Sign(rand.Reader, h.Sum(nil), m.Hash)
		if err != nil {
			return nil, err
		}
		return derToJOSE(der, m.KeySize)
	case *jwt.SigningMethodRSA:
		h := m.Hash.New()
		h.Write([]byte(input))
		return key.Sign(rand.Reader, h.Sum(nil), m.Hash)
	case *jwt.SigningMethodRSAPSS:
		h := m.Hash.New()
		h.Write([]byte(input))
		return key.Sign(rand.Reader, h.Sum(nil), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: m.Hash})
	default:
		// EdDSA: jwt's method already accepts any crypto.Signer.
		return methods[alg].Sign(input, key)
	}
}

// derToJOSE converts crypto.Signer's ASN.1 ECDSA signature to the fixed-width
// R||S form JWS requires (RFC 7518 §3.4).
func derToJOSE(der []byte, size int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil {
		return nil, errors.New("malformed ECDSA signature from signer")
	}
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || len(rs.R.Bytes()) > size || len(rs.S.Bytes()) > size {
		return nil, fmt.Errorf("ECDSA signature values out of range for %d-byte curve", size)
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}
