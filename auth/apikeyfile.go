package auth

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAPIKeyPollInterval is how often an [APIKeyFile] looks for changes
// unless told otherwise.
const DefaultAPIKeyPollInterval = 5 * time.Second

// APIKeyFile is an API key file kept current while the server runs: keys
// added to the file start working, and keys removed from it stop working for
// new calls, within one poll interval and without a restart. Rotating or
// revoking a leaked key must not wait for a deploy.
//
// The file is read again when its content changes (compared by hash, so
// editors that keep size and mtime, or a symlink swap, are noticed too). A
// file that cannot be read or parsed leaves the keys last loaded in force and
// is reported to the error callback; keys never silently vanish because an
// edit was half-written.
type APIKeyFile struct {
	path    string
	onError func(error)
	keys    atomic.Pointer[APIKeys]
	sum     [sha256.Size]byte // of the content last loaded; only poll touches it

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

var _ KeyVerifier = (*APIKeyFile)(nil)

// APIKeyFileOption configures [WatchAPIKeys].
type APIKeyFileOption func(*apiKeyFileConfig)

type apiKeyFileConfig struct {
	interval time.Duration
	onError  func(error)
}

// WithAPIKeyPollInterval sets how often the file is checked (default
// [DefaultAPIKeyPollInterval]).
func WithAPIKeyPollInterval(d time.Duration) APIKeyFileOption {
	return func(c *apiKeyFileConfig) { c.interval = d }
}

// WithAPIKeyErrorLog receives the errors of reloads that failed (the
// previous keys stay in force).
func WithAPIKeyErrorLog(f func(error)) APIKeyFileOption {
	return func(c *apiKeyFileConfig) { c.onError = f }
}

// WatchAPIKeys loads the key file at path (see [ParseAPIKeys]); it must be
// valid now. It is then polled until [APIKeyFile.Close].
func WatchAPIKeys(path string, opts ...APIKeyFileOption) (*APIKeyFile, error) {
	cfg := apiKeyFileConfig{interval: DefaultAPIKeyPollInterval, onError: func(error) {}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.interval <= 0 {
		return nil, errors.New("auth: API keys: poll interval must be positive")
	}
	f := &APIKeyFile{path: path, onError: cfg.onError, stop: make(chan struct{}), done: make(chan struct{})}
	if _, err := f.reload(); err != nil {
		return nil, err
	}
	go f.poll(cfg.interval)
	return f, nil
}

// Verify checks key against the keys currently loaded.
func (f *APIKeyFile) Verify(key string) (*Principal, error) { return f.keys.Load().Verify(key) }

// Len is how many keys are currently loaded.
func (f *APIKeyFile) Len() int { return f.keys.Load().Len() }

// Close stops polling; the keys last loaded stay in force.
func (f *APIKeyFile) Close() {
	f.stopOnce.Do(func() { close(f.stop) })
	<-f.done
}

func (f *APIKeyFile) poll(every time.Duration) {
	defer close(f.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			if _, err := f.reload(); err != nil {
				f.onError(err)
			}
		}
	}
}

// reload reads the file and, if its content changed, parses it and swaps
// the keys in. It reports whether the keys changed.
func (f *APIKeyFile) reload() (bool, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return false, fmt.Errorf("auth: API keys: %w", err)
	}
	sum := sha256.Sum256(data)
	if f.keys.Load() != nil && sum == f.sum {
		return false, nil
	}
	k, err := ParseAPIKeys(bytes.NewReader(data))
	if err != nil {
		return false, fmt.Errorf("auth: API keys: %s: %w", f.path, err)
	}
	f.keys.Store(k)
	f.sum = sum
	return true, nil
}
