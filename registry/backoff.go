package registry

import (
	"math/rand/v2"
	"time"
)

// backoff yields growing, jittered delays: each drawn uniformly from the
// upper half of a ceiling that doubles from least to most. The jitter keeps
// the replicas or agents that one outage cut off from coming back in step.
type backoff struct {
	least, most, ceil time.Duration
}

func newBackoff(least, most time.Duration) *backoff {
	return &backoff{least: least, most: max(most, least), ceil: least}
}

// next returns the next delay.
func (b *backoff) next() time.Duration {
	d := b.ceil/2 + rand.N(b.ceil/2+1)
	b.ceil = min(b.ceil*2, b.most)
	return d
}

// reset starts over from the least delay, after a success.
func (b *backoff) reset() { b.ceil = b.least }
