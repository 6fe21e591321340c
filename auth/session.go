package auth

import (
	"context"
	"crypto/x509"
	"sync"
	"time"

	"github.com/a2agrpc/a2agrpc"
)

// ChangeNotifier is implemented by PeerVerifiers whose trust anchors can
// change while the server runs (*mtls.Reloader): Changed returns a channel
// closed at the next change.
type ChangeNotifier interface {
	Changed() <-chan struct{}
}

// Errors that end a call or stream after it was authenticated.
var (
	errCredentialExpired = a2agrpc.NewError(a2agrpc.ReasonUnauthenticated,
		"the credential that opened this stream has expired; reconnect with a fresh one").
		WithMeta(a2agrpc.MetaCredentialEnded, "expired")
	errPeerRevoked = a2agrpc.NewError(a2agrpc.ReasonUnauthenticated,
		"the client certificate is no longer trusted (the CA bundle changed); reconnect with a valid one").
		WithMeta(a2agrpc.MetaCredentialEnded, "revoked")
)

// bound derives the context an authenticated call or stream runs in: it
// ends with UNAUTHENTICATED when p's credential expires, and, for a client
// certificate, when the CA bundle changes and chain no longer verifies.
// Without this a stream opened with a five-minute token, or with a
// certificate of a CA since removed, would keep acting for hours. release
// must be called when the call ends.
func (a *Authenticator) bound(ctx context.Context, p *Principal, chain []*x509.Certificate) (_ context.Context, release func()) {
	if p == nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if !p.Expires.IsZero() {
		timer = time.AfterFunc(time.Until(p.Expires), func() { cancel(errCredentialExpired) })
	}
	var w *watched
	if p.Peer != "" && len(chain) > 0 {
		if n, ok := a.cfg.Peers.(ChangeNotifier); ok {
			w = a.streams.add(a, n, chain, cancel)
		}
	}
	return ctx, func() {
		if timer != nil {
			timer.Stop()
		}
		if w != nil {
			a.streams.remove(w)
		}
		cancel(nil)
	}
}

// streamWatch re-verifies the certificates of open calls when the CA
// bundle changes. One goroutine serves all of them, and only while there
// are any.
type streamWatch struct {
	mu       sync.Mutex
	open     map[*watched]struct{}
	watching bool
	emptied  chan struct{} // wakes the watcher when open becomes empty
}

type watched struct {
	chain  []*x509.Certificate
	cancel context.CancelCauseFunc
}

func (s *streamWatch) add(a *Authenticator, n ChangeNotifier, chain []*x509.Certificate, cancel context.CancelCauseFunc) *watched {
	w := &watched{chain: chain, cancel: cancel}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		s.open, s.emptied = make(map[*watched]struct{}), make(chan struct{}, 1)
	}
	s.open[w] = struct{}{}
	if !s.watching {
		s.watching = true
		go s.watch(a, n)
	}
	return w
}

func (s *streamWatch) remove(w *watched) {
	s.mu.Lock()
	delete(s.open, w)
	if len(s.open) == 0 {
		select {
		case s.emptied <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

// watch waits for CA changes and ends the calls whose certificate no
// longer verifies; it returns once no call is open.
func (s *streamWatch) watch(a *Authenticator, n ChangeNotifier) {
	for {
		s.mu.Lock()
		if len(s.open) == 0 {
			s.watching = false
			s.mu.Unlock()
			return
		}
		changed := n.Changed()
		s.mu.Unlock()
		select {
		case <-changed:
		case <-s.emptied:
			continue
		}
		s.mu.Lock()
		open := make([]*watched, 0, len(s.open))
		for w := range s.open {
			open = append(open, w)
		}
		s.mu.Unlock()
		for _, w := range open {
			if _, err := a.cfg.Peers.VerifyPeer(w.chain, a.cfg.Now()); err != nil {
				w.cancel(errPeerRevoked)
			}
		}
	}
}
