package taskstore

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Page tokens are opaque to clients. A task cursor names the last task of a
// page by (Updated, id), so paging stays stable while tasks are added; a
// config cursor is the position in creation order. Both carry a version
// prefix so the format can change without misreading old tokens.

// EncodeTaskCursor returns the page token that resumes after (updated, id).
func EncodeTaskCursor(updated time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("t1:" + strconv.FormatInt(updated.UnixNano(), 10) + ":" + id))
}

// DecodeTaskCursor reverses EncodeTaskCursor; ErrInvalidPageToken for
// anything it did not produce.
func DecodeTaskCursor(token string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return time.Time{}, "", ErrInvalidPageToken
	}
	rest, ok := strings.CutPrefix(string(raw), "t1:")
	if !ok {
		return time.Time{}, "", ErrInvalidPageToken
	}
	ts, id, ok := strings.Cut(rest, ":")
	if !ok || id == "" {
		return time.Time{}, "", ErrInvalidPageToken
	}
	nanos, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, "", ErrInvalidPageToken
	}
	return time.Unix(0, nanos).UTC(), id, nil
}

// EncodeOffsetCursor returns the page token for position n of an ordered list.
func EncodeOffsetCursor(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o1:" + strconv.Itoa(n)))
}

// DecodeOffsetCursor reverses EncodeOffsetCursor; "" is position 0.
func DecodeOffsetCursor(token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, ErrInvalidPageToken
	}
	rest, ok := strings.CutPrefix(string(raw), "o1:")
	if !ok {
		return 0, ErrInvalidPageToken
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return 0, ErrInvalidPageToken
	}
	return n, nil
}
