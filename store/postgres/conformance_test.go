package postgres

import (
	"testing"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/postgres/pgtest"
	"github.com/example/workspace/store/storetest"
)

// TestConformance runs the shared suite, each subtest on a database of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

// TestUnavailable runs the suite's outage case with the database behind a
// proxy that the test cuts.
func TestUnavailable(t *testing.T) {
	storetest.RunUnavailable(t, func(t *testing.T) (store.Store, storetest.Outage) {
		url, proxy := pgtest.NewProxy(t, pgtest.NewDatabase(t))
		s, err := Open(t.Context(), url)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, storetest.Outage{Cut: proxy.Cut, Restore: proxy.Restore}
	})
}
