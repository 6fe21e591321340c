package rowcodec

import (
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// TestExpireKey: the key keeps nanoseconds, clamps outside int64, and is
// Never without an expire_time.
func TestExpireKey(t *testing.T) {
	at := func(tm time.Time) *registryv1.AgentRegistration {
		return &registryv1.AgentRegistration{ExpireTime: timestamppb.New(tm)}
	}
	for _, tt := range []struct {
		name string
		reg  *registryv1.AgentRegistration
		want int64
	}{
		{"no expire time", &registryv1.AgentRegistration{}, Never},
		{"nanoseconds", at(time.Unix(1_700_000_000, 123_456_789)), 1_700_000_000_123_456_789},
		{"year 1", at(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), math.MinInt64},
		{"year 9999", at(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)), math.MaxInt64},
	} {
		if got := ExpireKey(tt.reg); got != tt.want {
			t.Errorf("%s: ExpireKey = %d, want %d", tt.name, got, tt.want)
		}
	}
}
