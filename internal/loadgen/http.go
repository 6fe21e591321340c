package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/internal/sse"
)

// HTTP drives the HTTP+JSON binding (REST and SSE) or the JSON-RPC binding
// with keep-alive connections, one per worker.
type HTTP struct {
	client  *http.Client
	url     string // REST base URL or JSON-RPC endpoint
	jsonrpc bool
}

// NewREST targets an HTTP+JSON base URL (e.g. http://127.0.0.1:8080).
func NewREST(base string, workers int) *HTTP { return newHTTP(base, workers, false) }

// NewJSONRPC targets a JSON-RPC endpoint (e.g. http://127.0.0.1:8080/jsonrpc).
func NewJSONRPC(endpoint string, workers int) *HTTP { return newHTTP(endpoint, workers, true) }

func newHTTP(url string, workers int, jsonrpc bool) *HTTP {
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	tr := &http.Transport{MaxIdleConns: workers * 2, MaxIdleConnsPerHost: workers * 2, IdleConnTimeout: time.Minute}
	return &HTTP{client: &http.Client{Transport: tr}, url: strings.TrimRight(url, "/"), jsonrpc: jsonrpc}
}

// Call implements [Target].
func (h *HTTP) Call(ctx context.Context, _ int, mode Mode, onEvent func()) error {
	req := newMessage()
	body, err := a2ajson.Marshal(req)
	if err != nil {
		return err
	}
	url := h.url + "/message:send"
	if mode == Stream {
		url = h.url + "/message:stream"
	}
	if h.jsonrpc {
		method := "SendMessage"
		if mode == Stream {
			method = "SendStreamingMessage"
		}
		url = h.url
		body = []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%q,"method":%q,"params":%s}`, req.Message.MessageId, method, body))
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", a2agrpc.MediaTypeJSON)
	hreq.Header.Set(a2agrpc.HeaderVersion, a2agrpc.ProtocolVersion)
	resp, err := h.client.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	if mode == Unary {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if h.jsonrpc {
			if b, err = rpcResult(b); err != nil {
				return err
			}
		}
		var out a2av1.SendMessageResponse
		if err := a2ajson.Unmarshal(b, &out); err != nil {
			return err
		}
		return checkSendResponse(&out)
	}
	r := sse.NewReader(resp.Body, 1<<20)
	var check streamCheck
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return check.done()
		}
		if err != nil {
			return err
		}
		data := m.Data
		if h.jsonrpc {
			if data, err = rpcResult(data); err != nil {
				return err
			}
		}
		var ev a2av1.StreamResponse
		if err := a2ajson.Unmarshal(data, &ev); err != nil {
			return fmt.Errorf("event %s: %w", m.Data, err)
		}
		onEvent()
		if err := check.add(&ev); err != nil {
			return err
		}
	}
}

// rpcResult unwraps a JSON-RPC response envelope.
func rpcResult(b []byte) ([]byte, error) {
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, err
	}
	if env.Error != nil {
		return nil, fmt.Errorf("JSON-RPC error %d: %s", env.Error.Code, env.Error.Message)
	}
	return env.Result, nil
}

// Close implements [Target].
func (h *HTTP) Close() error {
	h.client.CloseIdleConnections()
	return nil
}
