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

func testWorkspaceCreateWithKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := newWorkspace("ws_A")
	key := newKey(ws.ID, "key_A", at(1))
	if err := s.CreateWorkspaceWithKey(ctx, ws, key); err != nil {
		t.Fatalf("CreateWorkspaceWithKey: %v", err)
	}
	k, w, err := s.LookupAPIKey(ctx, key.Hash)
	if err != nil {
		t.Fatalf("LookupAPIKey(the first key): %v", err)
	}
	checkKey(t, "the first key", k, key)
	checkWorkspace(t, "the first key's workspace", w, ws)
	got, err := s.GetWorkspace(ctx, ws.ID)
	if err != nil {
		t.Fatalf("GetWorkspace: %v", err)
	}
	checkWorkspace(t, "GetWorkspace", got, ws)
}

// testWorkspaceCreateWithKeyAtomic: whichever of the two inserts is refused,
// neither record is left behind (a workspace without its key would be one
// nobody can use).
func testWorkspaceCreateWithKeyAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	taken := mustWorkspace(t, s, "ws_taken")
	takenKey := mustKey(t, s, taken.ID, "key_taken", at(1))

	sameKeyID := newKey("ws_B", takenKey.ID, at(2))
	sameKeyID.Hash = hashOf("another secret")
	sameHash := newKey("ws_C", "key_C", at(3))
	sameHash.Hash = takenKey.Hash
	for _, tc := range []struct {
		what string
		ws   store.Workspace
		key  store.APIKey
	}{
		{"the key's id is taken", newWorkspace("ws_B"), sameKeyID},
		{"the key's hash is taken", newWorkspace("ws_C"), sameHash},
	} {
		checkConflict(t, "CreateWorkspaceWithKey("+tc.what+")", s.CreateWorkspaceWithKey(ctx, tc.ws, tc.key))
		_, err := s.GetWorkspace(ctx, tc.ws.ID)
		checkNotFound(t, "GetWorkspace(workspace refused because "+tc.what+")", err, "workspace")
	}

	// The workspace's id is taken: the key is not stored, the workspace kept.
	dup := store.Workspace{ID: taken.ID, Name: "other", Plan: "pro", CreatedAt: at(4)}
	key := newKey(dup.ID, "key_D", at(4))
	checkConflict(t, "CreateWorkspaceWithKey(the workspace's id is taken)", s.CreateWorkspaceWithKey(ctx, dup, key))
	_, err := s.GetAPIKey(ctx, key.ID)
	checkNotFound(t, "GetAPIKey(key of a refused workspace)", err, "api_key")
	got, err := s.GetWorkspace(ctx, taken.ID)
	if err != nil {
		t.Fatalf("GetWorkspace: %v", err)
	}
	checkWorkspace(t, "the workspace whose id was taken again", got, taken)

	// A key of another workspace is a caller's bug: refused, nothing stored.
	ws := newWorkspace("ws_E")
	foreign := newKey(taken.ID, "key_E", at(5))
	if err := s.CreateWorkspaceWithKey(ctx, ws, foreign); err == nil {
		t.Errorf("CreateWorkspaceWithKey(a key of another workspace) = nil, want an error")
	}
	_, err = s.GetWorkspace(ctx, ws.ID)
	checkNotFound(t, "GetWorkspace(workspace given a foreign key)", err, "workspace")
	_, err = s.GetAPIKey(ctx, foreign.ID)
	checkNotFound(t, "GetAPIKey(foreign key)", err, "api_key")
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
