package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/cardsign"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
)

// WellKnownCardPath is where an agent publishes its Agent Card.
const WellKnownCardPath = "/.well-known/agent-card.json"

// maxCardSize bounds the card read from the network: cards are small, and
// a misbehaving server must not make the client buffer without limit.
const maxCardSize = 1 << 20

// FetchCard reads the Agent Card of the agent at baseURL (its
// well-known path is appended unless baseURL already ends in .json) and,
// with [WithCardKeys], verifies its signature. Failures to reach the
// server are retried per [WithRetry]. Only the options that concern HTTP,
// TLS, credentials, retries and card keys matter here.
func FetchCard(ctx context.Context, baseURL string, opts ...Option) (*a2av1.AgentCard, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return fetchCard(ctx, baseURL, &cfg)
}

func fetchCard(ctx context.Context, baseURL string, cfg *config) (*a2av1.AgentCard, error) {
	target, err := cardURL(baseURL)
	if err != nil {
		return nil, err
	}
	hc := cfg.http(target)
	p := params{headers: headerSource(cfg)}
	var card *a2av1.AgentCard
	err = cfg.retry.do(ctx, true, func(ctx context.Context) error {
		ctx, cancel := cfg.bound(ctx)
		defer cancel()
		card, err = getCard(ctx, hc, target, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cfg.cardKeys != nil {
		if err := verifyCard(card, cfg.cardKeys); err != nil {
			return nil, fmt.Errorf("client: the Agent Card at %s: %w", target, err)
		}
	}
	return card, nil
}

// verifyCard checks the card's signature; the error wraps cardsign's
// sentinel (ErrUnsigned, ErrUnknownKey, ErrInvalidSignature, ErrMalformed).
func verifyCard(card *a2av1.AgentCard, keys *cardsign.KeySet) error {
	if _, err := cardsign.Verify(card, keys); err != nil {
		return fmt.Errorf("client: Agent Card %q not accepted: %w", card.GetName(), err)
	}
	return nil
}

// cardURL is the card's URL for an agent's base URL.
func cardURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("client: %q is not an http(s) URL", base)
	}
	if !strings.HasSuffix(u.Path, ".json") {
		u.Path = strings.TrimRight(u.Path, "/") + WellKnownCardPath
	}
	return u.String(), nil
}

// getCard is one attempt at reading the card. Credentials are sent too:
// some agents serve a richer card to authenticated callers.
func getCard(ctx context.Context, hc *http.Client, target string, p params) (*a2av1.AgentCard, error) {
	req, err := newHTTPRequest(ctx, p, http.MethodGet, target, nil, "", a2agrpc.MediaTypeJSON)
	if err != nil {
		return nil, err
	}
	resp, body, err := exchange(ctx, hc, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, httpError(resp, body)
	}
	if len(body) > maxCardSize {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "the Agent Card at %s is larger than %d bytes", target, maxCardSize)
	}
	card := &a2av1.AgentCard{}
	if err := a2ajson.Unmarshal(body, card); err != nil {
		return nil, a2agrpc.Errorf(a2agrpc.ReasonInvalidAgentResponse, "the Agent Card at %s is not valid JSON: %v", target, err)
	}
	return card, nil
}
