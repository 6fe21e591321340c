package httpserver

import (
	"context"
	"net/http"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/server"
)

// IdentityFunc names the authenticated caller of an HTTP request ("" for
// anonymous); the security middleware provides one.
type IdentityFunc func(r *http.Request) string

// AuthFunc authenticates a request before any A2A route sees it. It
// returns the context the call runs in (carrying the principal, which the
// [IdentityFunc] then reads), or an error after setting any challenge
// headers (WWW-Authenticate) on w. The error is answered in the shape of
// the binding the request was for: AIP-193 for HTTP+JSON, a JSON-RPC error
// envelope at the JSON-RPC URL, both with the HTTP status of the error
// table (401, 403, 429).
type AuthFunc func(w http.ResponseWriter, r *http.Request) (context.Context, error)

// withParams authenticates the request, builds the call's service
// parameters from the A2A-Version and A2A-Extensions headers (A2A-Version
// may also come as a query parameter), bounds the request body, and hands
// them to next. rpc selects the JSON-RPC error shape.
func withParams(cfg config, rpc bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			// A panic below becomes a 500 in the A2A shape (if nothing was
			// written yet) instead of a dropped connection.
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				writeErrorStatus(w, a2agrpc.NewError(a2agrpc.ReasonInternal, ""), http.StatusInternalServerError)
			}
		}()
		if cfg.auth != nil {
			ctx, err := cfg.auth(w, r)
			if err != nil {
				if rpc {
					writeRPCStatus(w, rpcResponse{JSONRPC: "2.0", ID: nullID, Error: rpcErr(err)}, classify(err).HTTPStatus())
				} else {
					writeError(w, err)
				}
				return
			}
			r = r.WithContext(ctx)
		}
		info := &server.CallInfo{
			Version:    r.Header.Get(a2agrpc.HeaderVersion),
			Extensions: a2agrpc.SplitList(r.Header.Values(a2agrpc.HeaderExtensions)...),
		}
		if info.Version == "" {
			info.Version = r.URL.Query().Get(a2agrpc.HeaderVersion)
		}
		if cfg.identity != nil {
			info.Caller = cfg.identity(r)
		}
		if r.RemoteAddr != "" {
			info.Remote = remoteAddr(r.RemoteAddr) // parsed only if a rate limit needs it
		}
		maxBody := cfg.maxBody
		if r.ContentLength > maxBody {
			writeErrorStatus(w, a2agrpc.Errorf(a2agrpc.ReasonInvalidRequest, "request body of %d bytes exceeds the %d-byte limit", r.ContentLength, maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r.WithContext(server.WithCallInfo(r.Context(), info)))
	})
}

// activatedExtensions is the gateway's hook to report, before the body is
// written, which extensions the call activated.
func activatedExtensions(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	setActivated(w, server.CallInfoFrom(ctx))
	return nil
}

func setActivated(w http.ResponseWriter, info *server.CallInfo) {
	if act := info.Activated(); len(act) > 0 {
		w.Header().Set(a2agrpc.HeaderExtensions, strings.Join(act, ","))
	}
}

// remoteAddr is an HTTP request's RemoteAddr ("host:port") as a net.Addr.
type remoteAddr string

func (a remoteAddr) Network() string { return "tcp" }
func (a remoteAddr) String() string  { return string(a) }
