package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/postgres/pgtest"
	"github.com/example/workspace/store/storetest"
)

// TestWebhookClaimsAcrossReplicas claims from two Stores on one database
// (two pools, as two replicas have), many rounds: an endpoint is never
// leased by both, and every one is leased.
func TestWebhookClaimsAcrossReplicas(t *testing.T) {
	replicas := openReplicas(t, pgtest.NewDatabase(t), 2)
	ctx := t.Context()
	for round := range 5 {
		ws := fmt.Sprintf("ws_%d", round)
		if err := replicas[0].CreateWorkspace(ctx, store.Workspace{ID: ws, Name: ws, Plan: "free", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			id := fmt.Sprintf("whe_%d_%02d", round, i)
			if _, err := replicas[i%2].CreateWebhookEndpoint(ctx, store.WebhookEndpoint{ID: id, WorkspaceID: ws,
				URL: "https://example.com", Enabled: true, Secret: "whsec_x", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		if err := replicas[1].CreateProject(ctx, store.Project{ID: "proj_" + ws, WorkspaceID: ws, Name: "p",
			CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		// Earlier rounds' endpoints are leased for a minute: only this
		// round's 20 are due.
		storetest.ClaimRace(t, []store.WebhookDispatch{replicas[0], replicas[1], replicas[0], replicas[1]}, 20)
	}
}
