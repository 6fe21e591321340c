package sqlitestore

import (
	"testing"

	"github.com/a2agrpc/a2agrpc/server/taskstore/storetest"
)

// TestUnreadableDeliveryIsHandedOver: a queued notification that cannot be
// decoded comes back flagged, next to the readable ones, instead of
// failing every claim; completing it removes it.
func TestUnreadableDeliveryIsHandedOver(t *testing.T) {
	s, path := openTest(t)
	// Sabotage from a connection of our own, as another program would.
	raw, err := openPool(path, 1, "busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storetest.UnreadableDelivery(t, s, func(configID string) {
		if _, err := raw.Exec(`UPDATE push_outbox SET event = x'ff' WHERE config_id = ?`, configID); err != nil {
			t.Fatal(err)
		}
	})
	if n := count(t, s, "push_outbox"); n != 1 {
		t.Errorf("%d outbox rows after completing the unreadable one, want 1", n)
	}
}
