package fanout

import (
	"context"
	"slices"
	"testing"
)

const resync = -1

func recv(t *testing.T, ch <-chan int) []int {
	t.Helper()
	var got []int
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return append(got, 999) // marks the close
			}
			got = append(got, v)
		default:
			return got
		}
	}
}

// TestOrderAndOverflow: values arrive in publish order; a full buffer is
// replaced by a lone resync, and later values follow it.
func TestOrderAndOverflow(t *testing.T) {
	h := New(3, resync, nil)
	defer h.Close()
	fast, _ := h.Subscribe(context.Background())
	slow, _ := h.Subscribe(context.Background())
	h.Publish(1)
	h.Publish(2)
	if got := recv(t, fast); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("fast got %v", got)
	}
	h.Publish(3)
	h.Publish(4) // slow's buffer (1, 2, 3) is full
	h.Publish(5)
	if got := recv(t, fast); !slices.Equal(got, []int{3, 4, 5}) {
		t.Fatalf("fast got %v", got)
	}
	if got := recv(t, slow); !slices.Equal(got, []int{resync, 5}) {
		t.Fatalf("slow got %v, want [resync 5]", got)
	}
}

// TestResync: Resync drops what is pending and queues one resync.
func TestResync(t *testing.T) {
	h := New(4, resync, nil)
	defer h.Close()
	ch, _ := h.Subscribe(context.Background())
	h.Publish(1)
	h.Resync()
	h.Publish(2)
	if got := recv(t, ch); !slices.Equal(got, []int{resync, 2}) {
		t.Fatalf("got %v", got)
	}
}

// TestClone: each subscriber gets its own copy.
func TestClone(t *testing.T) {
	type box struct{ v int }
	clones := 0
	h := New(1, (*box)(nil), func(b *box) *box { clones++; c := *b; return &c })
	defer h.Close()
	a, _ := h.Subscribe(context.Background())
	b, _ := h.Subscribe(context.Background())
	orig := &box{v: 1}
	h.Publish(orig)
	x, y := <-a, <-b
	if x == orig || y == orig || x == y || clones != 2 {
		t.Fatalf("subscribers share values (clones %d)", clones)
	}
}

// TestEnd: a subscription ends with its context or the hub; a closed hub
// refuses new ones.
func TestEnd(t *testing.T) {
	h := New(1, resync, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ch, _ := h.Subscribe(ctx)
	other, _ := h.Subscribe(context.Background())
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("value after cancel")
	}
	if h.Len() != 1 {
		t.Fatalf("%d subscribers after cancel, want 1", h.Len())
	}
	h.Close()
	if _, ok := <-other; ok {
		t.Fatal("value after Close")
	}
	if _, ok := h.Subscribe(context.Background()); ok {
		t.Fatal("Subscribe after Close succeeded")
	}
	h.Close() // idempotent
	h.Publish(1)
}
