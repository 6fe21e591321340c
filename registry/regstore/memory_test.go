package regstore_test

import (
	"context"
	"testing"

	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/registry/regstore/regstoretest"
)

func TestMemoryConformance(t *testing.T) {
	regstoretest.Run(t, func(t *testing.T) regstore.Store {
		s := regstore.NewMemory()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestMemorySlowWatcher: a watcher that falls more than its buffer behind
// loses the pending changes and gets one Resync, without slowing writers;
// changes after the Resync arrive normally.
func TestMemorySlowWatcher(t *testing.T) {
	s := regstore.NewMemory(regstore.WithWatchBuffer(2))
	t.Cleanup(func() { s.Close() })
	slow := regstoretest.MustWatch(t, s)
	// Two fill the buffer; the third finds it full.
	for _, id := range []string{"a", "b", "c"} {
		regstoretest.MustPut(t, s, regstoretest.NewReg(id, regstoretest.Base), 0)
	}
	if c := regstoretest.Next(t, slow, "resync"); !c.Resync || c.ID != "" || c.Reg != nil {
		t.Fatalf("first change %+v, want a lone Resync", c)
	}
	regstoretest.Quiet(t, slow)
	d := regstoretest.MustPut(t, s, regstoretest.NewReg("d", regstoretest.Base), 0)
	regstoretest.WantPut(t, regstoretest.Next(t, slow, "create d"), d)
}

// TestMemoryCanceledContext: operations honour an ended context.
func TestMemoryCanceledContext(t *testing.T) {
	s := regstore.NewMemory()
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Get(ctx, "a"); err != context.Canceled {
		t.Fatalf("Get with a cancelled context: %v", err)
	}
}
