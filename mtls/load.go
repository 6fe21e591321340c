package mtls

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// stamp is what polling compares to notice a changed file: nil info when
// the file cannot be stat'ed, so a file that disappears, or comes back,
// counts as a change. The file identity catches a replacement by rename that
// keeps size and mtime (as "cp -p" or a symlink swap can).
type stamp struct {
	info os.FileInfo
	// racy: the file was modified so shortly before the stat that a second
	// write of the same size may still land within the file system's mtime
	// granularity and leave the stamp unchanged. Such a stamp proves
	// nothing, so the next poll reloads regardless (git treats its index
	// the same way).
	racy bool
}

// racyWindow exceeds the mtime granularity of common file systems (a
// jiffy on Linux, 1s on HFS+, 2s on FAT).
const racyWindow = 2 * time.Second

func (a stamp) same(b stamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime())
}

// stat stamps the configured files, in a fixed order.
func (r *Reloader) stat() []stamp {
	var out []stamp
	now := time.Now()
	for _, p := range []string{r.files.Cert, r.files.Key, r.files.CA} {
		if p == "" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			out = append(out, stamp{})
			continue
		}
		out = append(out, stamp{info: fi, racy: now.Sub(fi.ModTime()) < racyWindow})
	}
	return out
}

// load reads and checks every configured file, returning a snapshot only
// when all of them are good.
func load(f Files) (*material, error) {
	m := &material{}
	if f.Cert != "" {
		certPEM, err := os.ReadFile(f.Cert)
		if err != nil {
			return nil, fmt.Errorf("mtls: reading certificate: %w", err)
		}
		keyPEM, err := os.ReadFile(f.Key)
		if err != nil {
			return nil, fmt.Errorf("mtls: reading key: %w", err)
		}
		if err := checkPEM(certPEM); err != nil {
			return nil, fmt.Errorf("mtls: certificate %s: %w", f.Cert, err)
		}
		if err := checkPEM(keyPEM); err != nil {
			return nil, fmt.Errorf("mtls: key %s: %w", f.Key, err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("mtls: certificate %s with key %s: %w", f.Cert, f.Key, err)
		}
		m.cert = &cert
	}
	if f.CA != "" {
		data, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, fmt.Errorf("mtls: reading CA bundle: %w", err)
		}
		pool, err := parseBundle(data)
		if err != nil {
			return nil, fmt.Errorf("mtls: CA bundle %s: %w", f.CA, err)
		}
		m.pool = pool
	}
	return m, nil
}

// parseBundle parses every CERTIFICATE block. Unlike
// x509.CertPool.AppendCertsFromPEM it fails on a block that does not parse
// instead of skipping it: a half-written bundle must not silently drop the
// CA that half the mesh is signed by.
func parseBundle(data []byte) (*x509.CertPool, error) {
	if err := checkPEM(data); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		n++
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n, err)
		}
		pool.AddCert(c)
	}
	if n == 0 {
		return nil, errors.New("no PEM certificates found")
	}
	return pool, nil
}

// checkPEM fails when data ends in a PEM block that does not decode, the
// mark of a file caught half-written. pem.Decode just stops there, so a
// truncated last intermediate or CA would otherwise vanish without error.
func checkPEM(data []byte) error {
	rest := data
	for {
		b, r := pem.Decode(rest)
		if b == nil {
			break
		}
		rest = r
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return errors.New("truncated or malformed PEM block")
	}
	return nil
}
