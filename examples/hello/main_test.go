package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRun runs the example end to end on loopback and expects one greeting
// per transport, each reported by the client as the transport it used.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, "Gopher"); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1+len(transports) {
		t.Fatalf("got %d lines, want a header and %d greetings:\n%s", len(lines), len(transports), out.String())
	}
	if !strings.HasPrefix(lines[0], `agent "hello": HTTP http://127.0.0.1:`) {
		t.Errorf("header %q does not name a loopback agent", lines[0])
	}
	for i, tr := range transports {
		want := fmt.Sprintf("%-9s -> Hello, Gopher!", tr)
		if lines[i+1] != want {
			t.Errorf("line %d = %q, want %q", i+1, lines[i+1], want)
		}
	}
}

// TestGreeting covers the agent's only rule besides echoing: a blank name.
func TestGreeting(t *testing.T) {
	for in, want := range map[string]string{"world": "Hello, world!", "  Ada ": "Hello, Ada!", "": "Hello, stranger!"} {
		if got := greeting(in); got != want {
			t.Errorf("greeting(%q) = %q, want %q", in, got, want)
		}
	}
}
