package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/sqlite/engine"
)

const workspaceCols = `id, name, plan, created_at`

func scanWorkspace(sc engine.Scanner) (store.Workspace, error) {
	var w store.Workspace
	var created int64
	if err := sc.Scan(&w.ID, &w.Name, &w.Plan, &created); err != nil {
		return store.Workspace{}, err
	}
	w.CreatedAt = fromMicros(created)
	return w, nil
}

func insertWorkspace(ctx context.Context, tx *engine.Tx, ws store.Workspace) error {
	var e encoder
	args := []any{ws.ID, ws.Name, ws.Plan, e.micros(ws.CreatedAt)}
	if e.err != nil {
		return e.err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO workspaces (`+workspaceCols+`) VALUES (?, ?, ?, ?)`, args...)
	if isUnique(err) {
		return conflict("workspace id already exists")
	}
	return err
}

func (s *Store) CreateWorkspace(ctx context.Context, ws store.Workspace) error {
	return wrap(ctx, "create workspace", s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		return insertWorkspace(ctx, tx, ws)
	}))
}

func (s *Store) GetWorkspace(ctx context.Context, id string) (store.Workspace, error) {
	w, err := scanWorkspace(s.db.QueryRowContext(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Workspace{}, store.NotFound("workspace")
	}
	return w, wrap(ctx, "get workspace", err)
}

func (s *Store) SetWorkspacePlan(ctx context.Context, id, plan string) error {
	return wrap(ctx, "set workspace plan", s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		cur, err := scanWorkspace(tx.QueryRowContext(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("workspace")
		}
		if err != nil || cur.Plan == plan {
			return err // the same plan is no change, and no event
		}
		if _, err := tx.ExecContext(ctx, `UPDATE workspaces SET plan = ? WHERE id = ?`, plan, id); err != nil {
			return err
		}
		next := cur
		next.Plan = plan
		return ev.Add(id, store.EventWorkspaceUpdated, store.Resource{Workspace: &next}, &store.Resource{Workspace: &cur})
	}))
}

// Bootstrap checks and inserts in one IMMEDIATE transaction, which holds the
// database's write lock from its start, so of several concurrent callers, in
// this process or another, exactly one finds the store empty.
func (s *Store) Bootstrap(ctx context.Context, ws store.Workspace, key store.APIKey) (bool, error) {
	if key.WorkspaceID != ws.ID {
		return false, fmt.Errorf("sqlite: bootstrap: key belongs to workspace %q, not to %q", key.WorkspaceID, ws.ID)
	}
	created := false
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM workspaces)`).Scan(&exists); err != nil {
			return err
		}
		if exists == 1 {
			return nil
		}
		if err := insertWorkspace(ctx, tx, ws); err != nil {
			return err
		}
		if err := insertAPIKey(ctx, tx, ev, key); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, wrap(ctx, "bootstrap", err)
	}
	return created, nil
}

// CreateWorkspaceWithKey inserts both in one write transaction.
func (s *Store) CreateWorkspaceWithKey(ctx context.Context, ws store.Workspace, key store.APIKey) error {
	if key.WorkspaceID != ws.ID {
		return fmt.Errorf("sqlite: create workspace with key: key belongs to workspace %q, not to %q", key.WorkspaceID, ws.ID)
	}
	return wrap(ctx, "create workspace with key", s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		if err := insertWorkspace(ctx, tx, ws); err != nil {
			return err
		}
		return insertAPIKey(ctx, tx, ev, key)
	}))
}
