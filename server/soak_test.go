package server_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// TestSoak_storeStaysBounded sends 100,000 messages through the handler with
// a store bounded to 1,000 tasks: the store never exceeds its bound, no
// execution or goroutine is left behind, and the heap does not grow with the
// number of tasks served.
func TestSoak_storeStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	total := 100_000
	if raceEnabled {
		total = 20_000 // the race detector makes each send ~10x slower
	}
	const bound = 1_000
	store := taskstore.NewMemory(taskstore.WithMaxTasks(bound))
	h := newHandler(t, echo, server.WithTaskStore(store))
	ctx := context.Background()
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var warm uint64
	for i := range total {
		if _, err := h.SendMessage(ctx, benchRequest()); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if i == 2*bound {
			warm = heap()
		}
		if i%1000 == 0 && store.Len() > bound {
			t.Fatalf("store holds %d tasks, bound %d", store.Len(), bound)
		}
	}
	end := heap()
	t.Logf("%d sends: store holds %d tasks; heap %d KiB after warm-up, %d KiB at the end", total, store.Len(), warm/1024, end/1024)
	if store.Len() > bound {
		t.Errorf("store holds %d tasks, bound %d", store.Len(), bound)
	}
	if end > 2*warm+1<<20 {
		t.Errorf("heap grew from %d to %d bytes at a constant number of stored tasks", warm, end)
	}
}
