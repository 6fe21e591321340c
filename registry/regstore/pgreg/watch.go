package pgreg

import (
	"context"
	"crypto/rand"

	"github.com/a2agrpc/a2agrpc/registry/regstore"
)

// A syncReq is a Watch call waiting to be subscribed.
type syncReq struct {
	ctx context.Context
	out chan (<-chan regstore.Change) // receives the subscription; nil if the store closed
}

// Watch implements [regstore.Store.Watch]. It sees the changes made through
// every Store sharing the schema.
//
// Changes reach the listener some time after their commit, so subscribing
// at once would also deliver changes committed before Watch was called. To
// make the cut exact, Watch sends a NOTIFY with a token of its own and the
// listener subscribes it when that token arrives: notifications arrive in
// commit order, so the watcher then sees exactly the changes committed
// after its token. If the listener reconnects meanwhile (the token may be
// lost), it subscribes the waiting watchers and sends them a resync.
func (s *Store) Watch(ctx context.Context) (<-chan regstore.Change, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	token := rand.Text()
	req := &syncReq{ctx: ctx, out: make(chan (<-chan regstore.Change), 1)}
	s.syncMu.Lock()
	s.syncs[token] = req
	s.syncMu.Unlock()
	defer func() {
		s.syncMu.Lock()
		delete(s.syncs, token)
		s.syncMu.Unlock()
	}()
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, syncPrefix+token); err != nil {
		return nil, s.classify(ctx, err)
	}
	select {
	case ch := <-req.out:
		if ch == nil {
			return nil, regstore.ErrClosed
		}
		return ch, nil
	case <-ctx.Done():
		// A subscription made meanwhile ends with ctx on its own.
		return nil, ctx.Err()
	case <-s.life.Done():
		return nil, regstore.ErrClosed
	}
}

// subscribe serves the Watch call waiting for token, if it is one of ours
// (every Store on the schema hears every token).
func (s *Store) subscribe(token string) {
	s.syncMu.Lock()
	req, ok := s.syncs[token]
	delete(s.syncs, token)
	s.syncMu.Unlock()
	if ok {
		s.serve(req)
	}
}

// subscribeAll serves every waiting Watch call; the listener calls it after
// reconnecting, just before sending resyncs.
func (s *Store) subscribeAll() {
	s.syncMu.Lock()
	reqs := make([]*syncReq, 0, len(s.syncs))
	for token, req := range s.syncs {
		reqs = append(reqs, req)
		delete(s.syncs, token)
	}
	s.syncMu.Unlock()
	for _, req := range reqs {
		s.serve(req)
	}
}

// serve subscribes req and hands it the channel.
func (s *Store) serve(req *syncReq) {
	ch, _ := s.hub.Subscribe(req.ctx) // nil when closed, which Watch reports
	req.out <- ch
}
