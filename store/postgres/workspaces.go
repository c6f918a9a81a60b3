package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store"
)

// bootstrapLockKey is the pg_advisory_xact_lock key that serialises Bootstrap
// across replicas; the value is the ASCII of "wsapiboo".
const bootstrapLockKey int64 = 0x7773_6170_6962_6f6f

const workspaceCols = "id, name, plan, created_at"

func scanWorkspace(row pgx.Row) (store.Workspace, error) {
	var w store.Workspace
	if err := row.Scan(&w.ID, &w.Name, &w.Plan, &w.CreatedAt); err != nil {
		return store.Workspace{}, err
	}
	w.CreatedAt = w.CreatedAt.UTC()
	return w, nil
}

func insertWorkspace(ctx context.Context, q querier, ws store.Workspace) error {
	_, err := q.Exec(ctx, "INSERT INTO workspaces ("+workspaceCols+") VALUES ($1, $2, $3, $4)",
		ws.ID, ws.Name, ws.Plan, ts(ws.CreatedAt))
	return err
}

// Bootstrap creates ws and key if the database holds no workspace yet. An
// advisory transaction lock makes the check and the inserts one step for
// every replica: the loser waits, then sees the winner's committed workspace
// (READ COMMITTED takes a fresh snapshot per statement).
func (s *Store) Bootstrap(ctx context.Context, ws store.Workspace, key store.APIKey) (bool, error) {
	if key.WorkspaceID != ws.ID {
		return false, fmt.Errorf("postgres: bootstrap: key belongs to workspace %q, not to %q", key.WorkspaceID, ws.ID)
	}
	created := false
	err := s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", bootstrapLockKey); err != nil {
			return dbError(ctx, "bootstrap: lock", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM workspaces)").Scan(&exists); err != nil {
			return dbError(ctx, "bootstrap: check", err)
		}
		if exists {
			return nil
		}
		if err := insertWorkspace(ctx, tx, ws); err != nil {
			return dbError(ctx, "bootstrap: create workspace", err)
		}
		if err := insertAPIKey(ctx, tx, ev, key); err != nil {
			return dbError(ctx, "bootstrap: create api key", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// CreateWorkspaceWithKey inserts both in one transaction.
func (s *Store) CreateWorkspaceWithKey(ctx context.Context, ws store.Workspace, key store.APIKey) error {
	if key.WorkspaceID != ws.ID {
		return fmt.Errorf("postgres: create workspace with key: key belongs to workspace %q, not to %q", key.WorkspaceID, ws.ID)
	}
	return s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		if err := insertWorkspace(ctx, tx, ws); err != nil {
			return dbError(ctx, "create workspace with key: workspace", err)
		}
		if err := insertAPIKey(ctx, tx, ev, key); err != nil {
			return dbError(ctx, "create workspace with key: api key", err)
		}
		return nil
	})
}

// CreateWorkspace stores a new workspace.
func (s *Store) CreateWorkspace(ctx context.Context, ws store.Workspace) error {
	if err := insertWorkspace(ctx, s.pool, ws); err != nil {
		return dbError(ctx, "create workspace", err)
	}
	return nil
}

// GetWorkspace returns a workspace by id.
func (s *Store) GetWorkspace(ctx context.Context, id string) (store.Workspace, error) {
	w, err := scanWorkspace(s.pool.QueryRow(ctx, "SELECT "+workspaceCols+" FROM workspaces WHERE id = $1", id))
	if err != nil {
		return store.Workspace{}, rowError(ctx, "get workspace", "workspace", err)
	}
	return w, nil
}

// SetWorkspacePlan changes a workspace's plan: it locks the row, so that
// the plan it compares is the one it replaces, and appends an event only
// when the plan changes.
func (s *Store) SetWorkspacePlan(ctx context.Context, id, plan string) error {
	return s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		cur, err := scanWorkspace(tx.QueryRow(ctx, "SELECT "+workspaceCols+" FROM workspaces WHERE id = $1 FOR UPDATE", id))
		if err != nil {
			return rowError(ctx, "set workspace plan", "workspace", err)
		}
		if cur.Plan == plan {
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE workspaces SET plan = $2 WHERE id = $1", id, plan); err != nil {
			return dbError(ctx, "set workspace plan", err)
		}
		next := cur
		next.Plan = plan
		return ev.Add(id, store.EventWorkspaceUpdated, store.Resource{Workspace: &next}, &store.Resource{Workspace: &cur})
	})
}
