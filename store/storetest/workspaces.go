package storetest

import (
	"testing"

	"github.com/example/workspace/store"
)

func testWorkspaceCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := newWorkspace("ws_A")
	if err := s.CreateWorkspace(ctx, ws); err != nil {
		t.Fatalf("CreateWorkspace: %v", err)
	}
	// A time given in UTC must come back the same as one given in another zone.
	utc := store.Workspace{ID: "ws_B", Name: "", Plan: "pro", CreatedAt: at(-1).UTC()}
	if err := s.CreateWorkspace(ctx, utc); err != nil {
		t.Fatalf("CreateWorkspace: %v", err)
	}
	for _, want := range []store.Workspace{ws, utc} {
		got, err := s.GetWorkspace(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetWorkspace(%s): %v", want.ID, err)
		}
		checkWorkspace(t, "GetWorkspace("+want.ID+")", got, want)
	}
	_, err := s.GetWorkspace(ctx, randomID)
	checkNotFound(t, "GetWorkspace(random id)", err, "workspace")
}

func testWorkspaceConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	dup := store.Workspace{ID: ws.ID, Name: "other", Plan: "pro", CreatedAt: at(99)}
	checkConflict(t, "CreateWorkspace(duplicate id)", s.CreateWorkspace(ctx, dup))
	got, err := s.GetWorkspace(ctx, ws.ID)
	if err != nil {
		t.Fatalf("GetWorkspace: %v", err)
	}
	checkWorkspace(t, "workspace after the refused duplicate", got, ws)
}

func testWorkspaceSetPlan(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	for _, plan := range []string{"pro", "enterprise", "free"} {
		if err := s.SetWorkspacePlan(ctx, a.ID, plan); err != nil {
			t.Fatalf("SetWorkspacePlan(%s): %v", plan, err)
		}
		a.Plan = plan
		got, err := s.GetWorkspace(ctx, a.ID)
		if err != nil {
			t.Fatalf("GetWorkspace: %v", err)
		}
		checkWorkspace(t, "workspace after SetWorkspacePlan("+plan+")", got, a)
	}
	if err := s.SetWorkspacePlan(ctx, a.ID, "team"); err != nil {
		t.Fatalf("SetWorkspacePlan: %v", err)
	}
	got, err := s.GetWorkspace(ctx, b.ID)
	if err != nil {
		t.Fatalf("GetWorkspace: %v", err)
	}
	checkWorkspace(t, "the other workspace", got, b)

	checkNotFound(t, "SetWorkspacePlan(random id)", s.SetWorkspacePlan(ctx, randomID, "pro"), "workspace")
	_, err = s.GetWorkspace(ctx, randomID)
	checkNotFound(t, "GetWorkspace after SetWorkspacePlan(random id)", err, "workspace")
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testClose(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustWorkspace(t, s, "ws_A")
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
