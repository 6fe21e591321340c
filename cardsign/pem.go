package cardsign

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxKeyFileSize bounds key files: real ones are a few KiB, and a verifier
// may be pointed at paths an operator did not write.
const maxKeyFileSize = 1 << 20

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cardsign: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cardsign: read %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("cardsign: %s exceeds %d bytes", path, maxKeyFileSize)
	}
	return data, nil
}

// LoadSigner reads an unencrypted PEM private key — PKCS#8 ("PRIVATE KEY"),
// SEC 1 ("EC PRIVATE KEY", optionally preceded by "EC PARAMETERS" as openssl
// writes it) or PKCS#1 ("RSA PRIVATE KEY") — and wraps it in a Signer.
// Encrypted PEM is refused rather than prompting: decrypt it into a
// protected location, or use NewSigner with a KMS-backed crypto.Signer.
func LoadSigner(pemPath, kid string, opts ...SignerOption) (*Signer, error) {
	data, err := readKeyFile(pemPath)
	if err != nil {
		return nil, err
	}
	key, err := parsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, pemPath)
	}
	return NewSigner(key, kid, opts...)
}

func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("cardsign: no PEM private key found")
		}
		if _, enc := block.Headers["Proc-Type"]; enc || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("cardsign: encrypted PEM private keys are not supported")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue // e.g. "EC PARAMETERS", or a certificate bundled alongside
		}
		if err != nil {
			return nil, fmt.Errorf("cardsign: parse %s: %w", block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("cardsign: %T cannot sign", key)
		}
		return signer, nil
	}
}

// parsePublicKeyPEM returns the first public key in data ("PUBLIC KEY",
// "RSA PUBLIC KEY" or "CERTIFICATE") and the block's optional "kid" PEM
// header. Only the first key counts so that a certificate chain file yields
// its leaf. Certificates are used purely as key containers: placing one in a
// trusted key file is the trust decision, so validity dates and chains are
// not checked. A private key is refused so that one is never accidentally
// distributed as "the verification key".
func parsePublicKeyPEM(data []byte) (crypto.PublicKey, string, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, "", errors.New("cardsign: no PEM public key or certificate found")
		}
		var pub crypto.PublicKey
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, "", errors.New("cardsign: file holds a private key; give verifiers the public key only")
		default:
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("cardsign: parse %s: %w", block.Type, err)
		}
		return pub, block.Headers["kid"], nil
	}
}
