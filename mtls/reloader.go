package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPollInterval is how often a Reloader looks at its files. Rotation
// tools renew certificates well before they expire, so seconds of delay do
// not matter, while a stat of three files every few seconds costs nothing.
const DefaultPollInterval = 5 * time.Second

// Files names the PEM files of one TLS identity.
type Files struct {
	// Cert is this side's certificate chain: the leaf first, then any
	// intermediates. Key is its private key (PKCS#8, PKCS#1 or SEC 1).
	// Both may be empty for a client that authenticates the server only;
	// a server needs them.
	Cert, Key string
	// CA is the bundle (one or more certificates) that peers are verified
	// against: a server verifies client certificates with it and a client
	// verifies the server with it. Empty means the client trusts the
	// system roots and the server does not ask for client certificates.
	CA string
}

// material is one consistent snapshot of the files: a certificate is never
// paired with a CA pool from a different reload.
type material struct {
	cert *tls.Certificate // nil when Files has no Cert and Key
	pool *x509.CertPool   // nil when Files has no CA
	// verified caches client certificates that verified against pool.
	verified verifiedPeers
	// replaced is closed when a reload supersedes this snapshot.
	replaced chan struct{}
}

// Reloader holds the current TLS material of a Files and replaces it when
// the files change, so certificates can be rotated without a restart. It is
// safe for concurrent use: handshakes read the material through an atomic
// pointer while a reload builds the next one.
type Reloader struct {
	files    Files
	interval time.Duration
	errLog   func(error)

	cur atomic.Pointer[material]

	mu     sync.Mutex // serializes reloads and guards stamps
	stamps []stamp

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// ReloaderOption configures [NewReloader].
type ReloaderOption func(*Reloader)

// WithPollInterval sets how often the files are checked for changes
// (default [DefaultPollInterval]). Zero or a negative d turns polling off;
// [Reloader.Reload] then is the only way to pick up new files.
func WithPollInterval(d time.Duration) ReloaderOption {
	return func(r *Reloader) { r.interval = d }
}

// WithErrorLog sets where failed reloads found by polling are reported. The
// previous material stays in use after a failure, so without a log a bad
// rotation would go unnoticed until the old certificate expires.
func WithErrorLog(f func(error)) ReloaderOption {
	return func(r *Reloader) { r.errLog = f }
}

// NewReloader loads f and, unless polling is turned off, starts watching
// it. It fails when any file cannot be read or parsed, naming the file.
// Call Close to stop watching.
func NewReloader(f Files, opts ...ReloaderOption) (*Reloader, error) {
	if (f.Cert == "") != (f.Key == "") {
		return nil, fmt.Errorf("mtls: certificate %q and key %q must be given together", f.Cert, f.Key)
	}
	if f.Cert == "" && f.CA == "" {
		return nil, errors.New("mtls: no files: need a certificate and key, a CA bundle, or both")
	}
	r := &Reloader{files: f, interval: DefaultPollInterval, stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(r)
	}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	if r.interval > 0 {
		go r.poll()
	} else {
		close(r.done)
	}
	return r, nil
}

// Reload reads the files now and, if all of them load, makes them current.
// On error the previous material stays in use.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Stat before reading: a write that lands during the read changes the
	// stamp again, so polling reloads once more.
	r.stamps = r.stat()
	m, err := load(r.files)
	if err != nil {
		return err
	}
	m.replaced = make(chan struct{})
	old := r.cur.Swap(m)
	if old != nil {
		close(old.replaced)
	}
	return nil
}

// Changed returns a channel closed when the current material is replaced
// by a reload. Servers use it to re-verify the certificates of connections
// and streams opened under the old CA bundle: a CA removed from the bundle
// must stop working for open streams too, not only for new handshakes.
func (r *Reloader) Changed() <-chan struct{} { return r.cur.Load().replaced }

// Close stops polling. The current material stays usable. It is safe to
// call more than once.
func (r *Reloader) Close() error {
	r.closeOnce.Do(func() { close(r.stop) })
	<-r.done
	return nil
}

// GetCertificate serves tls.Config.GetCertificate with the current
// certificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := r.cur.Load().cert; c != nil {
		return c, nil
	}
	return nil, errors.New("mtls: no certificate configured")
}

// GetClientCertificate serves tls.Config.GetClientCertificate with the
// current certificate, or with none when Files has no Cert, which lets the
// server decide whether that is acceptable.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if c := r.cur.Load().cert; c != nil {
		return c, nil
	}
	return &tls.Certificate{}, nil
}

// CAPool returns a copy of the current CA pool, or nil when Files has no
// CA. It is a copy so that a caller adding certificates cannot change what
// the Reloader trusts.
func (r *Reloader) CAPool() *x509.CertPool {
	if p := r.pool(); p != nil {
		return p.Clone()
	}
	return nil
}

// pool is the current CA pool itself, for verification inside the package.
func (r *Reloader) pool() *x509.CertPool { return r.cur.Load().pool }

func (r *Reloader) poll() {
	defer close(r.done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			if err := r.reloadIfChanged(); err != nil && r.errLog != nil {
				r.errLog(err)
			}
		}
	}
}

// reloadIfChanged reloads when any file's stamp differs from the last
// attempt, or that stamp was too fresh to trust. Otherwise a failed attempt
// is not retried until a file changes again, so a broken file is reported
// once rather than every interval.
func (r *Reloader) reloadIfChanged() error {
	r.mu.Lock()
	now := r.stat()
	changed := false
	for i := range now {
		if r.stamps[i].racy || !now[i].same(r.stamps[i]) {
			changed = true
			break
		}
	}
	r.mu.Unlock()
	if !changed {
		return nil
	}
	return r.Reload()
}
