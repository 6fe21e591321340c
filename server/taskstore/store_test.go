package taskstore_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// TestStoreErrorsOnTheWire: conditions the server may give up on reach
// clients as retryable A2A errors, never INTERNAL, while retry loops still
// tell a conflict from an outage.
func TestStoreErrorsOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want *a2agrpc.Error
	}{
		{taskstore.ErrConflict, a2agrpc.ErrUnavailable},
		{taskstore.ErrFull, a2agrpc.ErrResourceExhausted},
		{fmt.Errorf("sqlite: %w", taskstore.ErrFull), a2agrpc.ErrResourceExhausted},
	} {
		if got := a2agrpc.AsError(tc.err); !errors.Is(got, tc.want) {
			t.Errorf("AsError(%v) = %v, want %s", tc.err, got, tc.want.Reason)
		}
	}
	if errors.Is(taskstore.ErrConflict, taskstore.ErrUnavailable) || errors.Is(taskstore.ErrUnavailable, taskstore.ErrConflict) {
		t.Error("a conflict and an outage must not match each other")
	}
	if !errors.Is(fmt.Errorf("x: %w", taskstore.ErrConflict), taskstore.ErrConflict) {
		t.Error("a wrapped conflict is not a conflict")
	}
}
