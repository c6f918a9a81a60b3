package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

// Outage lets the suite take a backend's database away and give it back.
type Outage struct {
	// Cut makes the database refuse the store from now on: writes at
	// least, as when another process holds SQLite's lock or PostgreSQL
	// cannot be reached.
	Cut func()
	// Restore ends the outage.
	Restore func()
}

// restoredWithin bounds how long a backend may take to serve again once its
// database is back.
const restoredWithin = 15 * time.Second

// pollInterval spaces the attempts while waiting for the database to return.
const pollInterval = 20 * time.Millisecond

// RunUnavailable checks the contract's 503 at the store: while the database
// is cut, a write fails with store.ErrUnavailable, its cause kept beside it;
// a caller's own cancellation is not reported as unavailability; once
// restored, writes succeed again within seconds, and what was written before
// the cut is intact. newStore returns a fresh, empty, migrated store and the
// Outage of its database, and closes the store in t.Cleanup.
func RunUnavailable(t *testing.T, newStore func(t *testing.T) (store.Store, Outage)) {
	s, outage := newStore(t)
	ctx := t.Context()
	mustWorkspace(t, s, "ws_1")
	before := mustProject(t, s, "ws_1", "proj_before", at(1))

	outage.Cut()
	cutDone := false
	defer func() {
		if !cutDone {
			outage.Restore()
		}
	}()
	err := s.CreateProject(ctx, newProject("ws_1", "proj_during", at(2)))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("CreateProject while the database is cut: %v, want ErrUnavailable", err)
	}
	if !hasCause(err) {
		t.Errorf("CreateProject while cut: %q, want the cause kept beside ErrUnavailable", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.CreateProject(cancelled, newProject("ws_1", "proj_cancelled", at(3))); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("CreateProject with a cancelled context while cut: %v, want an error that is not ErrUnavailable", err)
	}

	outage.Restore()
	cutDone = true
	during := newProject("ws_1", "proj_during", at(2))
	deadline := time.Now().Add(restoredWithin)
	for {
		err := s.CreateProject(ctx, during)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("CreateProject after the database is back: %v, want success within %v", err, restoredWithin)
		}
		time.Sleep(pollInterval) // a poll against the deadline above
	}
	got, err := s.GetProject(ctx, "ws_1", before.ID)
	if err != nil {
		t.Fatalf("GetProject of the project written before the cut: %v", err)
	}
	checkProject(t, "project written before the cut", got, before)
	got, err = s.GetProject(ctx, "ws_1", during.ID)
	if err != nil {
		t.Fatalf("GetProject of the project written after the restore: %v", err)
	}
	checkProject(t, "project written after the restore", got, during)
}

// hasCause reports whether err's tree holds, beside store.ErrUnavailable, an
// error it does not wrap: the cause that the log line shows.
func hasCause(err error) bool {
	if err == nil || err == store.ErrUnavailable {
		return false
	}
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, c := range e.Unwrap() {
			if hasCause(c) {
				return true
			}
		}
		return false
	case interface{ Unwrap() error }:
		return hasCause(e.Unwrap())
	}
	return true // a leaf that is not the sentinel
}
