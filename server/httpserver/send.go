package httpserver

import (
	"mime"
	"net/http"
	"strings"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/server"
)

// send serves POST [/{tenant}]/message:send, the busiest route, by hand:
// grpc-gateway would decode the body twice (into a raw JSON value, then as
// ProtoJSON) and add its forwarding layer. Behaviour is the gateway's:
// same body rules, errors and content negotiation.
func (s *Server) send(w http.ResponseWriter, r *http.Request, params map[string]string) {
	req, err := decodeSend(r, params)
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := s.h.SendMessage(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	b, err := a2ajson.Marshal(resp)
	if err != nil {
		writeError(w, err)
		return
	}
	setActivated(w, server.CallInfoFrom(r.Context()))
	w.Header().Set("Content-Type", responseType(r))
	_, _ = w.Write(b)
}

// responseType answers application/json to clients that asked for it
// (Accept, else Content-Type) and application/a2a+json otherwise.
func responseType(r *http.Request) string {
	for _, h := range []string{r.Header.Get("Accept"), r.Header.Get("Content-Type")} {
		for part := range strings.SplitSeq(h, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case a2agrpc.MediaTypeA2AJSON:
				return a2agrpc.MediaTypeA2AJSON
			case a2agrpc.MediaTypeJSON:
				return a2agrpc.MediaTypeJSON
			}
		}
	}
	return a2agrpc.MediaTypeA2AJSON
}
