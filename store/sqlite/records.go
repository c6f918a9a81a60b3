package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/example/workspace/store"
)

// Bootstrap checks and inserts in one IMMEDIATE transaction, which holds the
// database's write lock from its start, so of several concurrent callers, in
// this process or another, exactly one finds the store empty.
func (s *Store) Bootstrap(ctx context.Context, ws store.Workspace, key store.APIKey) (bool, error) {
	if key.WorkspaceID != ws.ID {
		return false, fmt.Errorf("sqlite: bootstrap: key belongs to workspace %q, not to %q", key.WorkspaceID, ws.ID)
	}
	created := false
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
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
		if err := insertAPIKey(ctx, tx, key); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, wrap("bootstrap", err)
	}
	return created, nil
}

// CreateWorkspaceWithKey inserts both in one write transaction.
func (s *Store) CreateWorkspaceWithKey(ctx context.Context, ws store.Workspace, key store.APIKey) error {
	if key.WorkspaceID != ws.ID {
		return fmt.Errorf("sqlite: create workspace with key: key belongs to workspace %q, not to %q", key.WorkspaceID, ws.ID)
	}
	return wrap("create workspace with key", s.write(ctx, func(ctx context.Context, tx *txn) error {
		if err := insertWorkspace(ctx, tx, ws); err != nil {
			return err
		}
		return insertAPIKey(ctx, tx, key)
	}))
}

// --- workspaces

const workspaceCols = `id, name, plan, created_at`

func scanWorkspace(sc scanner) (store.Workspace, error) {
	var w store.Workspace
	var created int64
	if err := sc.Scan(&w.ID, &w.Name, &w.Plan, &created); err != nil {
		return store.Workspace{}, err
	}
	w.CreatedAt = fromMicros(created)
	return w, nil
}

func insertWorkspace(ctx context.Context, tx *txn, ws store.Workspace) error {
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
	return wrap("create workspace", s.write(ctx, func(ctx context.Context, tx *txn) error {
		return insertWorkspace(ctx, tx, ws)
	}))
}

func (s *Store) GetWorkspace(ctx context.Context, id string) (store.Workspace, error) {
	w, err := scanWorkspace(s.r.QueryRowContext(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Workspace{}, store.NotFound("workspace")
	}
	return w, wrap("get workspace", err)
}

func (s *Store) SetWorkspacePlan(ctx context.Context, id, plan string) error {
	return wrap("set workspace plan", s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE workspaces SET plan = ? WHERE id = ?`, plan, id)
		return affected(res, err, "workspace")
	}))
}

// affected turns an UPDATE or DELETE that matched no row into
// NotFound(resource).
func affected(res sql.Result, err error, resource string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.NotFound(resource)
	}
	return nil
}

// --- projects

const projectCols = `id, workspace_id, name, description, created_at, updated_at`

func scanProject(sc scanner) (store.Project, error) {
	var p store.Project
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.WorkspaceID, &p.Name, &p.Description, &created, &updated); err != nil {
		return store.Project{}, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

func (s *Store) CreateProject(ctx context.Context, p store.Project) error {
	var e encoder
	args := []any{p.ID, p.WorkspaceID, p.Name, p.Description, e.micros(p.CreatedAt), e.micros(p.UpdatedAt)}
	if e.err != nil {
		return e.err
	}
	return wrap("create project", s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO projects (`+projectCols+`) VALUES (?, ?, ?, ?, ?, ?)`, args...)
		switch {
		case isUnique(err):
			return conflict("project id already exists")
		case isForeignKey(err):
			return store.NotFound("workspace")
		}
		return err
	}))
}

func getProject(ctx context.Context, q rowQuerier, workspaceID, id string) (store.Project, error) {
	p, err := scanProject(q.QueryRowContext(ctx,
		`SELECT `+projectCols+` FROM projects WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Project{}, store.NotFound("project")
	}
	return p, err
}

func (s *Store) GetProject(ctx context.Context, workspaceID, id string) (store.Project, error) {
	p, err := getProject(ctx, s.r, workspaceID, id)
	return p, wrap("get project", err)
}

func (s *Store) UpdateProject(ctx context.Context, workspaceID, id string, update func(*store.Project) error) (store.Project, error) {
	var out store.Project
	var updateErr error
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		cur, err := getProject(ctx, tx, workspaceID, id)
		if err != nil {
			return err
		}
		next := cur
		if updateErr = update(&next); updateErr != nil {
			return updateErr
		}
		next.ID, next.WorkspaceID, next.CreatedAt = cur.ID, cur.WorkspaceID, cur.CreatedAt
		var e encoder
		args := []any{next.Name, next.Description, e.micros(next.UpdatedAt), workspaceID, id}
		if e.err != nil {
			return e.err
		}
		res, err := tx.ExecContext(ctx,
			`UPDATE projects SET name = ?, description = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`, args...)
		if err := affected(res, err, "project"); err != nil {
			return err
		}
		out = normProject(next)
		return nil
	})
	if updateErr != nil {
		return store.Project{}, updateErr
	}
	if err != nil {
		return store.Project{}, wrap("update project", err)
	}
	return out, nil
}

// normProject makes what an update callback produced look as if it had been
// read back: times in UTC.
func normProject(p store.Project) store.Project {
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p
}

// DeleteProject relies on the tasks' ON DELETE CASCADE: one statement, so the
// project and its tasks go together or not at all.
func (s *Store) DeleteProject(ctx context.Context, workspaceID, id string) error {
	return wrap("delete project", s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		return affected(res, err, "project")
	}))
}

func (s *Store) ListProjects(ctx context.Context, workspaceID string, page store.Page) ([]store.Project, int, error) {
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	var out []store.Project
	var total int
	err := s.read(ctx, func(ctx context.Context, tx readTx) error {
		var err error
		total, err = count(ctx, tx, `SELECT count(*) FROM projects WHERE workspace_id = ?`, workspaceID)
		if err != nil {
			return err
		}
		out, err = list(ctx, tx, scanProject, `SELECT `+projectCols+` FROM projects WHERE workspace_id = ?
			ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, workspaceID, page.Limit, page.Offset)
		return err
	})
	if err != nil {
		return nil, 0, wrap("list projects", err)
	}
	return out, total, nil
}

func count(ctx context.Context, tx rowQuerier, query string, args ...any) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

func list[T any](ctx context.Context, tx readTx, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// --- tasks

const taskCols = `id, workspace_id, project_id, title, description, status, due_at, completed_at, created_at, updated_at`

func scanTask(sc scanner) (store.Task, error) {
	var t store.Task
	var due, completed sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&t.ID, &t.WorkspaceID, &t.ProjectID, &t.Title, &t.Description, &t.Status,
		&due, &completed, &created, &updated); err != nil {
		return store.Task{}, err
	}
	t.DueAt, t.CompletedAt = fromOptMicros(due), fromOptMicros(completed)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, nil
}

// CreateTask leaves the project check to the composite foreign key
// (workspace_id, project_id), which fails for a project of another workspace
// exactly as for a missing one.
func (s *Store) CreateTask(ctx context.Context, t store.Task) error {
	var e encoder
	args := []any{t.ID, t.WorkspaceID, t.ProjectID, t.Title, t.Description, t.Status,
		e.optMicros(t.DueAt), e.optMicros(t.CompletedAt), e.micros(t.CreatedAt), e.micros(t.UpdatedAt)}
	if e.err != nil {
		return e.err
	}
	return wrap("create task", s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tasks (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		switch {
		case isUnique(err):
			return conflict("task id already exists")
		case isForeignKey(err):
			return store.NotFound("project")
		}
		return err
	}))
}

func getTask(ctx context.Context, q rowQuerier, workspaceID, id string) (store.Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx,
		`SELECT `+taskCols+` FROM tasks WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Task{}, store.NotFound("task")
	}
	return t, err
}

func (s *Store) GetTask(ctx context.Context, workspaceID, id string) (store.Task, error) {
	t, err := getTask(ctx, s.r, workspaceID, id)
	return t, wrap("get task", err)
}

func (s *Store) UpdateTask(ctx context.Context, workspaceID, id string, update func(*store.Task) error) (store.Task, error) {
	var out store.Task
	var updateErr error
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		cur, err := getTask(ctx, tx, workspaceID, id)
		if err != nil {
			return err
		}
		next := cur
		if updateErr = update(&next); updateErr != nil {
			return updateErr
		}
		next.ID, next.WorkspaceID, next.CreatedAt = cur.ID, cur.WorkspaceID, cur.CreatedAt
		var e encoder
		args := []any{next.ProjectID, next.Title, next.Description, next.Status,
			e.optMicros(next.DueAt), e.optMicros(next.CompletedAt), e.micros(next.UpdatedAt), workspaceID, id}
		if e.err != nil {
			return e.err
		}
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET project_id = ?, title = ?, description = ?, status = ?,
			due_at = ?, completed_at = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`, args...)
		if isForeignKey(err) {
			return store.NotFound("project")
		}
		if err := affected(res, err, "task"); err != nil {
			return err
		}
		out = normTask(next)
		return nil
	})
	if updateErr != nil {
		return store.Task{}, updateErr
	}
	if err != nil {
		return store.Task{}, wrap("update task", err)
	}
	return out, nil
}

// normTask makes what an update callback produced look as if it had been read
// back: times in UTC, and no pointer shared with the callback.
func normTask(t store.Task) store.Task {
	t.DueAt, t.CompletedAt = optUTC(t.DueAt), optUTC(t.CompletedAt)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t
}

func optUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Store) DeleteTask(ctx context.Context, workspaceID, id string) error {
	return wrap("delete task", s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tasks WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		return affected(res, err, "task")
	}))
}

func (s *Store) ListTasks(ctx context.Context, workspaceID string, filter store.TaskFilter, page store.Page) ([]store.Task, int, error) {
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	where := `workspace_id = ?`
	args := []any{workspaceID}
	if filter.ProjectID != "" {
		where += ` AND project_id = ?`
		args = append(args, filter.ProjectID)
	}
	if filter.Status != "" {
		where += ` AND status = ?`
		args = append(args, filter.Status)
	}
	var out []store.Task
	var total int
	err := s.read(ctx, func(ctx context.Context, tx readTx) error {
		if filter.ProjectID != "" {
			// In the same snapshot as the list, so that a project deleted in
			// between cannot turn NotFound into an empty page.
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE workspace_id = ? AND id = ?`,
				workspaceID, filter.ProjectID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return store.NotFound("project")
			}
			if err != nil {
				return err
			}
		}
		var err error
		total, err = count(ctx, tx, `SELECT count(*) FROM tasks WHERE `+where, args...)
		if err != nil {
			return err
		}
		out, err = list(ctx, tx, scanTask, `SELECT `+taskCols+` FROM tasks WHERE `+where+`
			ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, page.Limit, page.Offset)...)
		return err
	})
	if err != nil {
		return nil, 0, wrap("list tasks", err)
	}
	return out, total, nil
}

// --- API keys

const apiKeyCols = `id, workspace_id, name, scopes, prefix, hash, created_at, last_used_at, expires_at, revoked_at`

func scanAPIKey(sc scanner) (store.APIKey, error) {
	var k store.APIKey
	var scopes string
	var created int64
	var lastUsed, expires, revoked sql.NullInt64
	if err := sc.Scan(&k.ID, &k.WorkspaceID, &k.Name, &scopes, &k.Prefix, &k.Hash,
		&created, &lastUsed, &expires, &revoked); err != nil {
		return store.APIKey{}, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return store.APIKey{}, fmt.Errorf("scopes of key %s: %w", k.ID, err)
	}
	k.CreatedAt = fromMicros(created)
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = fromOptMicros(lastUsed), fromOptMicros(expires), fromOptMicros(revoked)
	return k, nil
}

func insertAPIKey(ctx context.Context, tx *txn, k store.APIKey) error {
	scopes, err := json.Marshal(k.Scopes)
	if err != nil {
		return err
	}
	var e encoder
	args := []any{k.ID, k.WorkspaceID, k.Name, string(scopes), k.Prefix, k.Hash,
		e.micros(k.CreatedAt), e.optMicros(k.LastUsedAt), e.optMicros(k.ExpiresAt), e.optMicros(k.RevokedAt)}
	if e.err != nil {
		return e.err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	switch {
	case isUnique(err):
		return conflict("api key id or hash already exists")
	case isForeignKey(err):
		return store.NotFound("workspace")
	}
	return err
}

func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	return wrap("create api key", s.write(ctx, func(ctx context.Context, tx *txn) error {
		return insertAPIKey(ctx, tx, k)
	}))
}

func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.r.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, store.NotFound("api_key")
	}
	return k, wrap("get api key", err)
}

func (s *Store) ListAPIKeys(ctx context.Context, workspaceID string, page store.Page) ([]store.APIKey, int, error) {
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	var out []store.APIKey
	var total int
	err := s.read(ctx, func(ctx context.Context, tx readTx) error {
		var err error
		total, err = count(ctx, tx, `SELECT count(*) FROM api_keys WHERE workspace_id = ?`, workspaceID)
		if err != nil {
			return err
		}
		out, err = list(ctx, tx, scanAPIKey, `SELECT `+apiKeyCols+` FROM api_keys WHERE workspace_id = ?
			ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, workspaceID, page.Limit, page.Offset)
		return err
	})
	if err != nil {
		return nil, 0, wrap("list api keys", err)
	}
	return out, total, nil
}

func (s *Store) RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) (store.APIKey, error) {
	var e encoder
	n := e.micros(at)
	if e.err != nil {
		return store.APIKey{}, e.err
	}
	var k store.APIKey
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?)
			WHERE workspace_id = ? AND id = ?`, n, workspaceID, id)
		if err := affected(res, err, "api_key"); err != nil {
			return err
		}
		k, err = scanAPIKey(tx.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return store.APIKey{}, wrap("revoke api key", err)
	}
	return k, nil
}

func (s *Store) LookupAPIKey(ctx context.Context, hash []byte) (store.APIKey, store.Workspace, error) {
	var w store.Workspace
	var wsCreated int64
	row := s.r.QueryRowContext(ctx, `SELECT `+prefixed("k.", apiKeyCols)+`, w.id, w.name, w.plan, w.created_at
		FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
		WHERE k.hash = ?`, hash)
	k, err := scanAPIKey(withExtra{row, []any{&w.ID, &w.Name, &w.Plan, &wsCreated}})
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, store.Workspace{}, store.NotFound("api_key")
	}
	if err != nil {
		return store.APIKey{}, store.Workspace{}, wrap("lookup api key", err)
	}
	w.CreatedAt = fromMicros(wsCreated)
	return k, w, nil
}

// withExtra scans a joined row: the record's scan function fills its own
// columns and the extra destinations take the rest.
type withExtra struct {
	sc    scanner
	extra []any
}

func (x withExtra) Scan(dest ...any) error { return x.sc.Scan(append(dest, x.extra...)...) }

// prefixed qualifies each column of a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = alias + parts[i]
	}
	return strings.Join(parts, ", ")
}

// TouchAPIKey compares in SQL, so that of two concurrent touches the later
// time wins whatever order they commit in.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	var e encoder
	n := e.micros(at)
	if e.err != nil {
		return e.err
	}
	return wrap("touch api key", s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, n, id, n)
		if err := affected(res, err, "api_key"); !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM api_keys WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("api_key")
		}
		return err
	}))
}
