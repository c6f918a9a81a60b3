package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

// Idempotency records live for a day; pending ones are reclaimed after a
// while. The tests pass the cut-offs explicitly, relative to at(0).
var (
	idemExpired = at(0).Add(-24 * time.Hour)
	idemStale   = at(0).Add(-5 * time.Minute)
)

func newIdem(wsID, key, fingerprint string, created time.Time) store.IdempotencyKey {
	return store.IdempotencyKey{WorkspaceID: wsID, Key: key, Fingerprint: hashOf(fingerprint), CreatedAt: created}
}

func checkIdem(t *testing.T, what string, got, want store.IdempotencyKey) {
	t.Helper()
	var d diff
	d.str("WorkspaceID", got.WorkspaceID, want.WorkspaceID)
	d.str("Key", got.Key, want.Key)
	if !bytes.Equal(got.Fingerprint, want.Fingerprint) {
		d = append(d, fmt.Sprintf("Fingerprint = %x, want %x", got.Fingerprint, want.Fingerprint))
	}
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.optTime("CompletedAt", got.CompletedAt, want.CompletedAt)
	if (got.Response == nil) != (want.Response == nil) || !bytes.Equal(got.Response, want.Response) {
		d = append(d, fmt.Sprintf("Response = %q (nil %v), want %q (nil %v)", got.Response, got.Response == nil, want.Response, want.Response == nil))
	}
	d.report(t, what)
}

func reserve(t *testing.T, s store.Store, k store.IdempotencyKey, wantReserved bool) store.IdempotencyKey {
	t.Helper()
	got, reserved, err := s.ReserveIdempotencyKey(t.Context(), k, idemExpired, idemStale)
	if err != nil {
		t.Fatalf("ReserveIdempotencyKey(%s/%s): %v", k.WorkspaceID, k.Key, err)
	}
	if reserved != wantReserved {
		t.Fatalf("ReserveIdempotencyKey(%s/%s): reserved = %v, want %v", k.WorkspaceID, k.Key, reserved, wantReserved)
	}
	return got
}

// testIdempotencyLifecycle: reserve, see it pending, complete, replay, and
// the key's scope is its workspace.
func testIdempotencyLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	first := newIdem(a.ID, "retry-me 01", "request one", at(1))
	checkIdem(t, "first reservation", reserve(t, s, first, true), first)

	// A second request under the key sees the pending record, whatever its
	// own fingerprint.
	for _, fp := range []string{"request one", "request two"} {
		second := newIdem(a.ID, first.Key, fp, at(2))
		checkIdem(t, "while pending ("+fp+")", reserve(t, s, second, false), first)
	}
	// The same key in another workspace is another key.
	other := newIdem(b.ID, first.Key, "request of B", at(3))
	checkIdem(t, "same key in workspace B", reserve(t, s, other, true), other)

	response := []byte("\x00\x01 a response \xff")
	if err := s.CompleteIdempotencyKey(ctx, a.ID, first.Key, response, at(4)); err != nil {
		t.Fatalf("CompleteIdempotencyKey: %v", err)
	}
	done := first
	done.Response, done.CompletedAt = response, ptr(at(4))
	checkIdem(t, "after completion", reserve(t, s, newIdem(a.ID, first.Key, "request one", at(5)), false), done)
	checkNotFound(t, "completing twice", s.CompleteIdempotencyKey(ctx, a.ID, first.Key, []byte("other"), at(6)), "idempotency_key")
	checkNotFound(t, "completing a missing key", s.CompleteIdempotencyKey(ctx, a.ID, "never reserved", []byte("x"), at(6)), "idempotency_key")

	// Releasing a completed record keeps it; B's pending record is untouched
	// by anything done to A's.
	if err := s.ReleaseIdempotencyKey(ctx, a.ID, first.Key); err != nil {
		t.Fatalf("ReleaseIdempotencyKey(completed): %v", err)
	}
	checkIdem(t, "completed after a release", reserve(t, s, newIdem(a.ID, first.Key, "request one", at(7)), false), done)
	checkIdem(t, "B's record", reserve(t, s, newIdem(b.ID, first.Key, "x", at(7)), false), other)

	// An empty response is a response, not a pending record.
	empty := newIdem(a.ID, "empty", "e", at(8))
	reserve(t, s, empty, true)
	if err := s.CompleteIdempotencyKey(ctx, a.ID, "empty", []byte{}, at(9)); err != nil {
		t.Fatalf("CompleteIdempotencyKey(empty): %v", err)
	}
	empty.Response, empty.CompletedAt = []byte{}, ptr(at(9))
	checkIdem(t, "empty response", reserve(t, s, newIdem(a.ID, "empty", "e", at(10)), false), empty)

	_, _, err := s.ReserveIdempotencyKey(ctx, newIdem("ws_missing", "k", "f", at(0)), idemExpired, idemStale)
	checkNotFound(t, "reserving in a missing workspace", err, "workspace")
}

// testIdempotencyRelease: a failed request releases its key, and a retry runs
// afresh with its own fingerprint.
func testIdempotencyRelease(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	k := newIdem(ws.ID, "k", "first body", at(1))
	reserve(t, s, k, true)
	if err := s.ReleaseIdempotencyKey(ctx, ws.ID, "k"); err != nil {
		t.Fatalf("ReleaseIdempotencyKey: %v", err)
	}
	if err := s.ReleaseIdempotencyKey(ctx, ws.ID, "k"); err != nil {
		t.Errorf("ReleaseIdempotencyKey of a missing key: %v", err)
	}
	checkNotFound(t, "completing a released key", s.CompleteIdempotencyKey(ctx, ws.ID, "k", []byte("r"), at(2)), "idempotency_key")
	again := newIdem(ws.ID, "k", "second body", at(3))
	checkIdem(t, "after release", reserve(t, s, again, true), again)
}

// testIdempotencyExpiry: a record older than the expiry is replaced, and so is
// a pending one older than the stale cut-off; a completed one is not stale.
func testIdempotencyExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	old := at(0).Add(-25 * time.Hour)
	expired := newIdem(ws.ID, "expired", "old body", old)
	reserve(t, s, expired, true)
	if err := s.CompleteIdempotencyKey(ctx, ws.ID, "expired", []byte("old"), old); err != nil {
		t.Fatal(err)
	}
	fresh := newIdem(ws.ID, "expired", "new body", at(1))
	checkIdem(t, "expired record", reserve(t, s, fresh, true), fresh)

	stale := newIdem(ws.ID, "stale", "body", at(0).Add(-10*time.Minute))
	reserve(t, s, stale, true)
	retry := newIdem(ws.ID, "stale", "body", at(2))
	checkIdem(t, "stale pending record", reserve(t, s, retry, true), retry)

	// Completed 10 minutes ago: older than the stale cut-off, younger than a
	// day, so it is replayed.
	kept := newIdem(ws.ID, "kept", "body", at(0).Add(-10*time.Minute))
	reserve(t, s, kept, true)
	if err := s.CompleteIdempotencyKey(ctx, ws.ID, "kept", []byte("r"), kept.CreatedAt); err != nil {
		t.Fatal(err)
	}
	kept.Response, kept.CompletedAt = []byte("r"), ptr(kept.CreatedAt)
	checkIdem(t, "completed record past the stale cut-off", reserve(t, s, newIdem(ws.ID, "kept", "body", at(3)), false), kept)

	// Recent pending records are live.
	recent := newIdem(ws.ID, "recent", "body", at(0).Add(-time.Minute))
	reserve(t, s, recent, true)
	checkIdem(t, "recent pending record", reserve(t, s, newIdem(ws.ID, "recent", "body", at(4)), false), recent)
}

// testIdempotencyConcurrent: of many simultaneous reservations of one key,
// exactly one wins and every loser sees the winner's record.
func testIdempotencyConcurrent(t *testing.T, s store.Store) {
	ws := mustWorkspace(t, s, "ws_A")
	for round := range 3 {
		key := fmt.Sprintf("race-%d", round)
		var wins atomic.Int32
		winners := make([]store.IdempotencyKey, goroutines)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range goroutines {
			wg.Go(func() {
				<-start
				k := newIdem(ws.ID, key, fmt.Sprintf("body %d", g), at(g))
				got, reserved, err := s.ReserveIdempotencyKey(t.Context(), k, idemExpired, idemStale)
				if err != nil {
					t.Errorf("ReserveIdempotencyKey: %v", err)
					return
				}
				if reserved {
					wins.Add(1)
				}
				winners[g] = got
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d reservations won, want exactly 1", round, wins.Load())
		}
		for g := range winners {
			if !bytes.Equal(winners[g].Fingerprint, winners[0].Fingerprint) {
				t.Errorf("round %d: goroutine %d saw fingerprint %x, goroutine 0 %x", round, g, winners[g].Fingerprint, winners[0].Fingerprint)
			}
		}
	}
}
