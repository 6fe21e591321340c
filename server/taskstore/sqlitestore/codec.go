package sqlitestore

import (
	"math"
	"time"
)

// How Go values become column values.
//
// Times are stored as Unix nanoseconds. The zero time has no such
// representation (UnixNano overflows), so it is stored as the smallest
// integer: it round-trips, and it still sorts as the oldest.

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// btoi is a flag as SQLite stores it, and an index into a pair of
// statement variants.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
