package postgres

import (
	"testing"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/storetest"
)

// TestConformance runs the shared suite, each subtest on a database of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}
