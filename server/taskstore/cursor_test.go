package taskstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

func TestCursorRoundTrip(t *testing.T) {
	ts := time.Date(2026, 5, 6, 7, 8, 9, 123_000_000, time.UTC)
	got, id, err := taskstore.DecodeTaskCursor(taskstore.EncodeTaskCursor(ts, "task:with:colons"))
	if err != nil || !got.Equal(ts) || id != "task:with:colons" {
		t.Errorf("round trip = %v %q %v", got, id, err)
	}
	n, err := taskstore.DecodeOffsetCursor(taskstore.EncodeOffsetCursor(42))
	if err != nil || n != 42 {
		t.Errorf("offset round trip = %d %v", n, err)
	}
}

// FuzzDecodeTaskCursor: page tokens come from clients; any string must either
// decode or be rejected with ErrInvalidPageToken, never panic.
func FuzzDecodeTaskCursor(f *testing.F) {
	f.Add(taskstore.EncodeTaskCursor(time.Unix(1, 2), "id"))
	f.Add(taskstore.EncodeOffsetCursor(3))
	f.Add("")
	f.Add("dDE6OnN")
	f.Fuzz(func(t *testing.T, token string) {
		if _, _, err := taskstore.DecodeTaskCursor(token); err != nil && !errors.Is(err, taskstore.ErrInvalidPageToken) {
			t.Fatalf("DecodeTaskCursor(%q) = %v", token, err)
		}
		if n, err := taskstore.DecodeOffsetCursor(token); err != nil && !errors.Is(err, taskstore.ErrInvalidPageToken) || n < 0 {
			t.Fatalf("DecodeOffsetCursor(%q) = %d, %v", token, n, err)
		}
	})
}
