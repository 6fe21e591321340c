// Package rowcodec is how the SQL stores lay a registration out in a row:
// the registration itself in its binary protobuf encoding (the store never
// queries inside it), and beside it the one field the store does query,
// the lease's end, as integer Unix nanoseconds.
//
// Nanoseconds rather than milliseconds keep "expired before now" exact, so
// the SQL stores expire exactly what [regstore.Expired] says, as the memory
// store does.
package rowcodec

import (
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// Never is the expire key of a registration without an expire_time: no
// instant is after it, so it never expires.
const Never = math.MaxInt64

// Nanos returns t in Unix nanoseconds, clamped to the int64 range (years
// 1678 to 2262), which keeps the order of every instant inside it.
func Nanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// ExpireKey is the value of reg's expire column.
func ExpireKey(reg *registryv1.AgentRegistration) int64 {
	if reg.GetExpireTime() == nil {
		return Never
	}
	return Nanos(reg.GetExpireTime().AsTime())
}

// Marshal encodes reg for the data column.
func Marshal(reg *registryv1.AgentRegistration) ([]byte, error) {
	b, err := proto.Marshal(reg)
	if err != nil {
		return nil, fmt.Errorf("encoding registration %q: %w", reg.GetAgentId(), err)
	}
	return b, nil
}

// Unmarshal decodes a data column.
func Unmarshal(b []byte) (*registryv1.AgentRegistration, error) {
	reg := &registryv1.AgentRegistration{}
	if err := proto.Unmarshal(b, reg); err != nil {
		return nil, fmt.Errorf("decoding a stored registration: %w", err)
	}
	return reg, nil
}
