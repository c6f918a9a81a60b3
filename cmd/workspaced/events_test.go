package main

import (
	"context"
	"strings"
	"testing"

	"github.com/example/workspace/server"
	"github.com/example/workspace/store"
)

// TestCLIWritesAreLogged: the CLI's writes (a plan change, a key) append
// their events like the API's, with no request id and no key id.
func TestCLIWritesAreLogged(t *testing.T) {
	db := t.TempDir() + "/cli-events.db"
	out, errOut, code := cli(t, nil, "workspaces", "create", "--name", "Acme", "--database", db)
	lines := strings.Fields(out)
	if code != 0 || len(lines) != 2 {
		t.Fatalf("workspaces create: %d %q %q", code, out, errOut)
	}
	ws := lines[0]
	if out, errOut, code := cli(t, nil, "workspaces", "set-plan", ws, "pro", "--database", db); code != 0 {
		t.Fatalf("set-plan: %d %q %q", code, out, errOut)
	}

	ctx := context.Background()
	st, err := server.OpenStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, total, err := st.ListEvents(ctx, ws, store.EventFilter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(evs) != 2 || evs[0].Type != store.EventAPIKeyCreated || evs[1].Type != store.EventWorkspaceUpdated {
		t.Fatalf("the log after create and set-plan: %d events of %d: %+v", len(evs), total, evs)
	}
	for _, e := range evs {
		if e.RequestID != "" || e.KeyID != "" {
			t.Errorf("%s by the CLI: request id %q, key id %q; want none", e.Type, e.RequestID, e.KeyID)
		}
	}
	if w := evs[1]; w.Data.Workspace == nil || w.Data.Workspace.Plan != "pro" || w.Previous == nil || w.Previous.Workspace.Plan != "free" {
		t.Errorf("workspace.updated: data %+v previous %+v", w.Data.Workspace, w.Previous)
	}
}
