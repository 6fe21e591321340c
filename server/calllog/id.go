package calllog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
)

// Header is the HTTP header, and MetadataKey the gRPC metadata key, that
// carry a request id both ways.
const (
	Header      = "X-Request-Id"
	MetadataKey = "x-request-id"
)

type idKey struct{}

// WithID returns ctx carrying the request id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, id)
}

// ID returns the request id of a call's context; "" outside a call.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}

// NewID returns a fresh request id: this process's random prefix and a
// counter ("5f0c2a9e17b3d4c8-1f"), unique across processes without
// reading randomness on every call.
func NewID() string {
	var b [16 + 1 + 16]byte
	n := copy(b[:], idPrefix)
	b[n] = '-'
	return string(strconv.AppendUint(b[:n+1], idCounter.Add(1), 16))
}

var (
	idPrefix  = newPrefix()
	idCounter atomic.Uint64
)

func newPrefix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

// maxIDLen bounds a request id taken from a caller.
const maxIDLen = 64

// accept returns the caller's request id if it is safe to log and echo
// (1 to 64 letters, digits, '-', '_', '.', ':'), else a fresh one: a
// caller must not be able to forge log lines or bloat them.
func accept(id string) string {
	if id == "" || len(id) > maxIDLen {
		return NewID()
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return NewID()
		}
	}
	return id
}
