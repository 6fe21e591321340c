// Package sse writes and reads Server-Sent Events as A2A uses them: one
// event per stream message, "data: <single-line JSON>", an optional "id:"
// for resumption, "event: error" for a failure, and comment lines as
// keep-alives.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Writer writes events to an HTTP response, flushing each one, and sends a
// keep-alive comment when the stream has been idle for the configured
// interval so proxies keep it open. It is safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	rc   *http.ResponseController // flushes through wrapping ResponseWriters too
	last time.Time
	stop chan struct{}
	done chan struct{}
}

// Start writes the SSE response headers and status 200 and returns a writer.
// keepAlive <= 0 disables keep-alive comments. Call Close when done.
func Start(w http.ResponseWriter, keepAlive time.Duration) *Writer {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sw := &Writer{w: w, rc: http.NewResponseController(w), last: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	_ = sw.rc.Flush()
	if keepAlive > 0 {
		go sw.keepAlive(keepAlive)
	} else {
		close(sw.done)
	}
	return sw
}

func (w *Writer) keepAlive(every time.Duration) {
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.mu.Lock()
			if time.Since(w.last) >= every {
				_, _ = io.WriteString(w.w, ": keep-alive\n\n")
				w.flushLocked()
			}
			w.mu.Unlock()
		}
	}
}

func (w *Writer) flushLocked() {
	w.last = time.Now()
	_ = w.rc.Flush()
}

// Event writes one event. id and event may be empty; data must not contain
// newlines (compact JSON never does).
func (w *Writer) Event(id, event string, data []byte) error {
	if bytes.ContainsAny(data, "\r\n") {
		return errors.New("sse: data contains a line break")
	}
	var b bytes.Buffer
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	if event != "" {
		fmt.Fprintf(&b, "event: %s\n", event)
	}
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(b.Bytes()); err != nil {
		return err
	}
	w.flushLocked()
	return nil
}

// Close stops the keep-alives. It does not close the response.
func (w *Writer) Close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// Message is one parsed event.
type Message struct {
	ID, Event string
	Data      []byte
}

// Reader parses an event stream.
type Reader struct {
	s *bufio.Scanner
}

// NewReader reads events from r; lines may be up to maxLine bytes.
func NewReader(r io.Reader, maxLine int) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), maxLine)
	return &Reader{s: s}
}

// Next returns the next event with data, skipping comments and events
// without data; io.EOF at the end of the stream.
func (r *Reader) Next() (Message, error) {
	var m Message
	var data [][]byte
	for r.s.Scan() {
		line := r.s.Text()
		if line == "" {
			if data != nil {
				m.Data = append([]byte{}, bytes.Join(data, []byte("\n"))...)
				return m, nil
			}
			m = Message{}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "data":
			data = append(data, []byte(value))
		case "id":
			m.ID = value
		case "event":
			m.Event = value
		}
	}
	if err := r.s.Err(); err != nil {
		return Message{}, err
	}
	if data != nil {
		m.Data = append([]byte{}, bytes.Join(data, []byte("\n"))...)
		return m, nil
	}
	return Message{}, io.EOF
}
