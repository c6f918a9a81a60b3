// Package postgres implements store.Store on PostgreSQL with pgx, for deployments that run several replicas.
package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/workspace/store"
)

// bootstrapLockKey is the pg_advisory_xact_lock key that serialises Bootstrap
// across replicas; the value is the ASCII of "wsapiboo".
const bootstrapLockKey int64 = 0x7773_6170_6962_6f6f

// Store is a store.Store backed by a PostgreSQL connection pool.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://user@host:port/db?...),
// applies the pending migrations (see Migrate) and returns a Store. The pool
// honours the pool_* URL parameters of pgxpool, such as pool_max_conns.
func Open(ctx context.Context, url string) (*Store, error) {
	s, _, err := open(ctx, url)
	return s, err
}

// open is Open that also reports which migrations it applied, for the tests.
func open(ctx context.Context, url string) (*Store, []string, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	applied, err := migrate(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, applied, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, applied, fmt.Errorf("postgres: open pool: %w", err)
	}
	return &Store{pool: pool}, applied, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned; a
// second Close is harmless (the suite and t.Cleanup may both call it).
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// querier is what both the pool and a transaction offer, so that the insert
// helpers serve Bootstrap's transaction and the plain Create methods.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in a transaction and commits if fn returns nil. An error from
// fn is returned as is, which UpdateProject and UpdateTask promise for the
// errors of their callbacks.
func (s *Store) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	// After a successful Commit this is a no-op (pgx.ErrTxClosed).
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError("commit", err)
	}
	return nil
}

// inSnapshot runs fn in a REPEATABLE READ transaction, so that all its
// queries read one snapshot: a list page and its total then always agree.
// Read-only because nothing there writes, which PostgreSQL then enforces.
func (s *Store) inSnapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// ts prepares a time for a timestamptz column. PostgreSQL keeps microseconds;
// truncating here, rather than leaving it to the wire format (pgx's binary
// encoding truncates, the text one makes the server round), makes what is
// stored independent of the query mode.
func ts(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// tsPtr is ts for a nullable column: nil is NULL.
func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// utcPtr returns t in UTC; pgx scans timestamptz in the local time zone.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// checkPage rejects what the contract rules out rather than letting
// PostgreSQL fail on a negative LIMIT or OFFSET with a less clear error.
func checkPage(page store.Page) error {
	if page.Limit < 1 || page.Offset < 0 {
		return fmt.Errorf("postgres: invalid page: limit %d, offset %d", page.Limit, page.Offset)
	}
	return nil
}

// listPage reads one page and the total of a list in tx. whereSQL and args
// select the rows ($1… are args); the page is ordered newest first.
func listPage[T any](ctx context.Context, tx pgx.Tx, cols, table, whereSQL string, args []any, page store.Page, scan func(pgx.CollectableRow) (T, error)) ([]T, int, error) {
	n := len(args)
	pageArgs := append(append(make([]any, 0, n+2), args...), page.Limit, page.Offset)
	rows, err := tx.Query(ctx, "SELECT "+cols+" FROM "+table+" WHERE "+whereSQL+
		" ORDER BY created_at DESC, id DESC LIMIT $"+strconv.Itoa(n+1)+" OFFSET $"+strconv.Itoa(n+2), pageArgs...)
	if err != nil {
		return nil, 0, err
	}
	items, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, 0, err
	}
	// A short page that is not empty, or the first page, already tells the
	// total; only otherwise does counting cost a second query.
	if len(items) < page.Limit && (len(items) > 0 || page.Offset == 0) {
		return items, page.Offset + len(items), nil
	}
	var total int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE "+whereSQL, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// ---- workspaces ----

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
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", bootstrapLockKey); err != nil {
			return dbError("bootstrap: lock", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM workspaces)").Scan(&exists); err != nil {
			return dbError("bootstrap: check", err)
		}
		if exists {
			return nil
		}
		if err := insertWorkspace(ctx, tx, ws); err != nil {
			return dbError("bootstrap: create workspace", err)
		}
		if err := insertAPIKey(ctx, tx, key); err != nil {
			return dbError("bootstrap: create api key", err)
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
	return s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := insertWorkspace(ctx, tx, ws); err != nil {
			return dbError("create workspace with key: workspace", err)
		}
		if err := insertAPIKey(ctx, tx, key); err != nil {
			return dbError("create workspace with key: api key", err)
		}
		return nil
	})
}

// CreateWorkspace stores a new workspace.
func (s *Store) CreateWorkspace(ctx context.Context, ws store.Workspace) error {
	if err := insertWorkspace(ctx, s.pool, ws); err != nil {
		return dbError("create workspace", err)
	}
	return nil
}

// GetWorkspace returns a workspace by id.
func (s *Store) GetWorkspace(ctx context.Context, id string) (store.Workspace, error) {
	w, err := scanWorkspace(s.pool.QueryRow(ctx, "SELECT "+workspaceCols+" FROM workspaces WHERE id = $1", id))
	if err != nil {
		return store.Workspace{}, rowError("get workspace", "workspace", err)
	}
	return w, nil
}

// SetWorkspacePlan changes a workspace's plan.
func (s *Store) SetWorkspacePlan(ctx context.Context, id, plan string) error {
	tag, err := s.pool.Exec(ctx, "UPDATE workspaces SET plan = $2 WHERE id = $1", id, plan)
	if err != nil {
		return dbError("set workspace plan", err)
	}
	if tag.RowsAffected() == 0 {
		return store.NotFound("workspace")
	}
	return nil
}

// ---- projects ----

const projectCols = "id, workspace_id, name, description, created_at, updated_at"

func scanProject(row pgx.Row) (store.Project, error) {
	var p store.Project
	if err := row.Scan(&p.ID, &p.WorkspaceID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return store.Project{}, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

func collectProject(row pgx.CollectableRow) (store.Project, error) { return scanProject(row) }

// CreateProject stores a new project; NotFound("workspace") if its workspace
// does not exist.
func (s *Store) CreateProject(ctx context.Context, p store.Project) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO projects ("+projectCols+") VALUES ($1, $2, $3, $4, $5, $6)",
		p.ID, p.WorkspaceID, p.Name, p.Description, ts(p.CreatedAt), ts(p.UpdatedAt))
	if err != nil {
		return dbError("create project", err)
	}
	return nil
}

// GetProject returns a project of the workspace.
func (s *Store) GetProject(ctx context.Context, workspaceID, id string) (store.Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx,
		"SELECT "+projectCols+" FROM projects WHERE workspace_id = $1 AND id = $2", workspaceID, id))
	if err != nil {
		return store.Project{}, rowError("get project", "project", err)
	}
	return p, nil
}

// UpdateProject locks the project's row, lets update change a copy and writes
// it back in the same transaction, so concurrent updates apply one after the
// other instead of overwriting each other.
func (s *Store) UpdateProject(ctx context.Context, workspaceID, id string, update func(*store.Project) error) (store.Project, error) {
	var out store.Project
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		cur, err := scanProject(tx.QueryRow(ctx,
			"SELECT "+projectCols+" FROM projects WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspaceID, id))
		if err != nil {
			return rowError("update project: read", "project", err)
		}
		p := cur
		if err := update(&p); err != nil {
			return err
		}
		out, err = scanProject(tx.QueryRow(ctx,
			"UPDATE projects SET name = $3, description = $4, updated_at = $5"+
				" WHERE workspace_id = $1 AND id = $2 RETURNING "+projectCols,
			cur.WorkspaceID, cur.ID, p.Name, p.Description, ts(p.UpdatedAt)))
		if err != nil {
			return rowError("update project: write", "project", err)
		}
		return nil
	})
	if err != nil {
		return store.Project{}, err
	}
	return out, nil
}

// DeleteProject deletes a project; its tasks go with it through the foreign
// key's ON DELETE CASCADE, within the same statement.
func (s *Store) DeleteProject(ctx context.Context, workspaceID, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM projects WHERE workspace_id = $1 AND id = $2", workspaceID, id)
	if err != nil {
		return dbError("delete project", err)
	}
	if tag.RowsAffected() == 0 {
		return store.NotFound("project")
	}
	return nil
}

// ListProjects returns one page of the workspace's projects and their total,
// both read from one snapshot.
func (s *Store) ListProjects(ctx context.Context, workspaceID string, page store.Page) ([]store.Project, int, error) {
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	var (
		items []store.Project
		total int
	)
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		var err error
		items, total, err = listPage(ctx, tx, projectCols, "projects", "workspace_id = $1", []any{workspaceID}, page, collectProject)
		if err != nil {
			return dbError("list projects", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// ---- tasks ----

const taskCols = "id, workspace_id, project_id, title, description, status, due_at, completed_at, created_at, updated_at"

func scanTask(row pgx.Row) (store.Task, error) {
	var t store.Task
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.ProjectID, &t.Title, &t.Description, &t.Status,
		&t.DueAt, &t.CompletedAt, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return store.Task{}, err
	}
	t.DueAt, t.CompletedAt = utcPtr(t.DueAt), utcPtr(t.CompletedAt)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

func collectTask(row pgx.CollectableRow) (store.Task, error) { return scanTask(row) }

// CreateTask stores a new task. The composite foreign key rejects a project
// that is missing or in another workspace alike, as NotFound("project").
func (s *Store) CreateTask(ctx context.Context, t store.Task) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO tasks ("+taskCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		t.ID, t.WorkspaceID, t.ProjectID, t.Title, t.Description, t.Status,
		tsPtr(t.DueAt), tsPtr(t.CompletedAt), ts(t.CreatedAt), ts(t.UpdatedAt))
	if err != nil {
		return dbError("create task", err)
	}
	return nil
}

// GetTask returns a task of the workspace.
func (s *Store) GetTask(ctx context.Context, workspaceID, id string) (store.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx,
		"SELECT "+taskCols+" FROM tasks WHERE workspace_id = $1 AND id = $2", workspaceID, id))
	if err != nil {
		return store.Task{}, rowError("get task", "task", err)
	}
	return t, nil
}

// UpdateTask is UpdateProject for tasks. Moving the task to a project outside
// the workspace violates the composite foreign key: NotFound("project").
func (s *Store) UpdateTask(ctx context.Context, workspaceID, id string, update func(*store.Task) error) (store.Task, error) {
	var out store.Task
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		cur, err := scanTask(tx.QueryRow(ctx,
			"SELECT "+taskCols+" FROM tasks WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspaceID, id))
		if err != nil {
			return rowError("update task: read", "task", err)
		}
		t := cur
		if err := update(&t); err != nil {
			return err
		}
		out, err = scanTask(tx.QueryRow(ctx,
			"UPDATE tasks SET project_id = $3, title = $4, description = $5, status = $6,"+
				" due_at = $7, completed_at = $8, updated_at = $9"+
				" WHERE workspace_id = $1 AND id = $2 RETURNING "+taskCols,
			cur.WorkspaceID, cur.ID, t.ProjectID, t.Title, t.Description, t.Status,
			tsPtr(t.DueAt), tsPtr(t.CompletedAt), ts(t.UpdatedAt)))
		if err != nil {
			return rowError("update task: write", "task", err)
		}
		return nil
	})
	if err != nil {
		return store.Task{}, err
	}
	return out, nil
}

// DeleteTask deletes a task of the workspace.
func (s *Store) DeleteTask(ctx context.Context, workspaceID, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM tasks WHERE workspace_id = $1 AND id = $2", workspaceID, id)
	if err != nil {
		return dbError("delete task", err)
	}
	if tag.RowsAffected() == 0 {
		return store.NotFound("task")
	}
	return nil
}

// ListTasks returns one page of the workspace's tasks matching filter and how
// many match, all from one snapshot, including the check that the filter's
// project exists.
func (s *Store) ListTasks(ctx context.Context, workspaceID string, filter store.TaskFilter, page store.Page) ([]store.Task, int, error) {
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	// Only the filters in use become conditions, rather than "$2 = '' OR …",
	// so that each combination gets a plan that uses its index.
	where := []string{"workspace_id = $1"}
	args := []any{workspaceID}
	if filter.ProjectID != "" {
		args = append(args, filter.ProjectID)
		where = append(where, "project_id = $"+strconv.Itoa(len(args)))
	}
	if filter.Status != "" {
		args = append(args, filter.Status)
		where = append(where, "status = $"+strconv.Itoa(len(args)))
	}
	var (
		items []store.Task
		total int
	)
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		if filter.ProjectID != "" {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM projects WHERE workspace_id = $1 AND id = $2)",
				workspaceID, filter.ProjectID).Scan(&exists); err != nil {
				return dbError("list tasks: check project", err)
			}
			if !exists {
				return store.NotFound("project")
			}
		}
		var err error
		items, total, err = listPage(ctx, tx, taskCols, "tasks", strings.Join(where, " AND "), args, page, collectTask)
		if err != nil {
			return dbError("list tasks", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// ---- API keys ----

const apiKeyCols = "id, workspace_id, name, scopes, prefix, hash, created_at, last_used_at, expires_at, revoked_at"

func scanAPIKey(row pgx.Row, extra ...any) (store.APIKey, error) {
	var k store.APIKey
	dest := append([]any{&k.ID, &k.WorkspaceID, &k.Name, &k.Scopes, &k.Prefix, &k.Hash,
		&k.CreatedAt, &k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.APIKey{}, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = utcPtr(k.LastUsedAt), utcPtr(k.ExpiresAt), utcPtr(k.RevokedAt)
	return k, nil
}

func collectAPIKey(row pgx.CollectableRow) (store.APIKey, error) { return scanAPIKey(row) }

func insertAPIKey(ctx context.Context, q querier, k store.APIKey) error {
	_, err := q.Exec(ctx, "INSERT INTO api_keys ("+apiKeyCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		k.ID, k.WorkspaceID, k.Name, k.Scopes, k.Prefix, k.Hash,
		ts(k.CreatedAt), tsPtr(k.LastUsedAt), tsPtr(k.ExpiresAt), tsPtr(k.RevokedAt))
	return err
}

// CreateAPIKey stores a new key.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	if err := insertAPIKey(ctx, s.pool, k); err != nil {
		return dbError("create api key", err)
	}
	return nil
}

// GetAPIKey returns a key by id, whatever its workspace (for operators).
func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE id = $1", id))
	if err != nil {
		return store.APIKey{}, rowError("get api key", "api_key", err)
	}
	return k, nil
}

// ListAPIKeys returns one page of the workspace's keys, revoked ones
// included, and their total, both read from one snapshot.
func (s *Store) ListAPIKeys(ctx context.Context, workspaceID string, page store.Page) ([]store.APIKey, int, error) {
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	var (
		items []store.APIKey
		total int
	)
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		var err error
		items, total, err = listPage(ctx, tx, apiKeyCols, "api_keys", "workspace_id = $1", []any{workspaceID}, page, collectAPIKey)
		if err != nil {
			return dbError("list api keys", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// RevokeAPIKey sets revoked_at unless it is set already; COALESCE in one
// UPDATE keeps the first time even when two revocations race.
func (s *Store) RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) (store.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx,
		"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3)"+
			" WHERE workspace_id = $1 AND id = $2 RETURNING "+apiKeyCols,
		workspaceID, id, ts(at)))
	if err != nil {
		return store.APIKey{}, rowError("revoke api key", "api_key", err)
	}
	return k, nil
}

// LookupAPIKey finds a key and its workspace by the hash of the secret.
func (s *Store) LookupAPIKey(ctx context.Context, hash []byte) (store.APIKey, store.Workspace, error) {
	var w store.Workspace
	k, err := scanAPIKey(s.pool.QueryRow(ctx,
		"SELECT k.id, k.workspace_id, k.name, k.scopes, k.prefix, k.hash, k.created_at,"+
			" k.last_used_at, k.expires_at, k.revoked_at, w.id, w.name, w.plan, w.created_at"+
			" FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id WHERE k.hash = $1", hash),
		&w.ID, &w.Name, &w.Plan, &w.CreatedAt)
	if err != nil {
		return store.APIKey{}, store.Workspace{}, rowError("lookup api key", "api_key", err)
	}
	w.CreatedAt = w.CreatedAt.UTC()
	return k, w, nil
}

// TouchAPIKey moves last_used_at forward to at. It runs on every
// authenticated request, so it is one statement that writes only when the
// time moves forward; the WHERE is re-checked against a concurrent writer's
// row, so the time never goes back. NotFound("api_key") if there is no such key.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	var exists bool
	err := s.pool.QueryRow(ctx,
		"WITH touched AS (UPDATE api_keys SET last_used_at = $2"+
			" WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2) RETURNING 1)"+
			" SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)",
		id, ts(at)).Scan(&exists)
	if err != nil {
		return dbError("touch api key", err)
	}
	if !exists {
		return store.NotFound("api_key")
	}
	return nil
}
