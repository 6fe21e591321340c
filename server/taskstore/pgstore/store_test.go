package pgstore

import (
	"testing"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/taskstore/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) taskstore.Store { return newStore(t) })
}
