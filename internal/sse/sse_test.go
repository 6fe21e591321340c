package sse_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/internal/sse"
)

func TestWriterAndReader(t *testing.T) {
	rec := httptest.NewRecorder()
	w := sse.Start(rec, 0)
	for _, ev := range []struct{ id, event, data string }{{"1", "", `{"a":1}`}, {"", "error", `{"error":{}}`}} {
		if err := w.Event(ev.id, ev.event, []byte(ev.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Event("", "", []byte("two\nlines")); err == nil {
		t.Error("data with a line break was written")
	}
	w.Close()
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("headers = %v", rec.Header())
	}
	r := sse.NewReader(strings.NewReader(rec.Body.String()), 1<<16)
	m1, _ := r.Next()
	m2, _ := r.Next()
	if m1.ID != "1" || string(m1.Data) != `{"a":1}` || m2.Event != "error" || string(m2.Data) != `{"error":{}}` {
		t.Errorf("parsed %+v %+v from %q", m1, m2, rec.Body.String())
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last event: %v", err)
	}
}

func TestKeepAlive(t *testing.T) {
	rec := httptest.NewRecorder()
	w := sse.Start(rec, 10*time.Millisecond)
	time.Sleep(60 * time.Millisecond)
	w.Close()
	if !strings.Contains(rec.Body.String(), ": keep-alive\n\n") {
		t.Errorf("no keep-alive comment in %q", rec.Body.String())
	}
}

// FuzzReader: event streams come from peers; the parser must never panic
// and must return well-formed messages or an error.
func FuzzReader(f *testing.F) {
	f.Add("id: 1\ndata: {}\n\n: c\n\nevent: error\ndata: x\ndata: y\n\n")
	f.Add("data:no-space\n\ndata\n\n")
	f.Add(":\n\n\n\nid\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := sse.NewReader(strings.NewReader(in), 1<<12)
		for range 1000 {
			m, err := r.Next()
			if err != nil {
				return
			}
			if m.Data == nil {
				t.Fatal("message without data")
			}
		}
	})
}
