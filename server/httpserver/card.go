package httpserver

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
)

// WellKnownCardPath is where A2A clients look for the public Agent Card.
const WellKnownCardPath = "/.well-known/agent-card.json"

// cardHandler serves the public card: cacheable (Cache-Control, ETag from
// its content, 304 on If-None-Match) and readable from browsers (CORS).
type cardHandler struct {
	body []byte
	etag string
}

func newCardHandler(card *a2av1.AgentCard) (*cardHandler, error) {
	b, err := a2ajson.Marshal(card)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return &cardHandler{body: b, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}, nil
}

func (c *cardHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "*")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		writeErrorStatus(w, a2agrpc.Errorf(a2agrpc.ReasonMethodNotFound, "method %s is not allowed for the agent card", r.Method), http.StatusMethodNotAllowed)
		return
	}
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", c.etag)
	h.Set("Vary", "Accept-Encoding")
	for _, tag := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		if t := strings.TrimPrefix(strings.TrimSpace(tag), "W/"); t == c.etag || t == "*" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Type", a2agrpc.MediaTypeJSON)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(c.body)
}

// OpenAPIPath is where the OpenAPI document of the REST binding is served.
const OpenAPIPath = "/openapi.json"

func openAPIHandler() http.Handler {
	doc := a2agrpc.OpenAPIv2()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeErrorStatus(w, a2agrpc.Errorf(a2agrpc.ReasonMethodNotFound, "method %s is not allowed for the OpenAPI document", r.Method), http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Type", a2agrpc.MediaTypeJSON)
		if r.Method == http.MethodGet {
			_, _ = w.Write(doc)
		}
	})
}
