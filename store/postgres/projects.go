package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
)

const projectCols = "id, workspace_id, name, description, created_at, updated_at, version"

func scanProject(row pgx.Row) (store.Project, error) {
	var p store.Project
	if err := row.Scan(&p.ID, &p.WorkspaceID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt, &p.Version); err != nil {
		return store.Project{}, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

func collectProject(row pgx.CollectableRow) (store.Project, error) { return scanProject(row) }

// CreateProject stores a new project and counts it (one batch, one implicit
// transaction); NotFound("workspace") if its workspace does not exist.
func (s *Store) CreateProject(ctx context.Context, p store.Project) error {
	b := &pgx.Batch{}
	b.Queue("INSERT INTO projects ("+projectCols+") VALUES ($1, $2, $3, $4, $5, $6, 1)",
		p.ID, p.WorkspaceID, p.Name, p.Description, ts(p.CreatedAt), ts(p.UpdatedAt))
	b.Queue(addProjectCount, p.WorkspaceID, 1)
	p.Version = 1
	var ev pending
	if err := ev.Add(p.WorkspaceID, store.EventProjectCreated, store.Resource{Project: &p}, nil); err != nil {
		return err
	}
	if err := s.batchWithEvents(ctx, b, &ev); err != nil {
		return dbError(ctx, "create project", err)
	}
	return nil
}

// GetProject returns a project of the workspace.
func (s *Store) GetProject(ctx context.Context, workspaceID, id string) (store.Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx,
		"SELECT "+projectCols+" FROM projects WHERE workspace_id = $1 AND id = $2", workspaceID, id))
	if err != nil {
		return store.Project{}, rowError(ctx, "get project", "project", err)
	}
	return p, nil
}

// UpdateProject locks the project's row, lets update change a copy and writes
// it back in the same transaction, so concurrent updates apply one after the
// other instead of overwriting each other; the version is incremented by the
// statement itself, from the locked row.
func (s *Store) UpdateProject(ctx context.Context, workspaceID, id string, update func(*store.Project) error) (store.Project, error) {
	var out store.Project
	err := s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		cur, err := scanProject(tx.QueryRow(ctx,
			"SELECT "+projectCols+" FROM projects WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspaceID, id))
		if err != nil {
			return rowError(ctx, "update project: read", "project", err)
		}
		p := cur
		if err := update(&p); err != nil {
			return err
		}
		out, err = scanProject(tx.QueryRow(ctx,
			"UPDATE projects SET name = $3, description = $4, updated_at = $5, version = version + 1"+
				" WHERE workspace_id = $1 AND id = $2 RETURNING "+projectCols,
			cur.WorkspaceID, cur.ID, p.Name, p.Description, ts(p.UpdatedAt)))
		if err != nil {
			return rowError(ctx, "update project: write", "project", err)
		}
		return ev.Add(workspaceID, store.EventProjectUpdated, store.Resource{Project: &out}, &store.Resource{Project: &cur})
	})
	if err != nil {
		return store.Project{}, err
	}
	return out, nil
}

// DeleteProject deletes a project; its tasks go with it through the foreign
// key's ON DELETE CASCADE, within the same statement. Then, in the same
// transaction, its counters leave the workspace's totals.
func (s *Store) DeleteProject(ctx context.Context, workspaceID, id string) error {
	return s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		cur, err := scanProject(tx.QueryRow(ctx,
			"SELECT "+projectCols+" FROM projects WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspaceID, id))
		if err != nil {
			return rowError(ctx, "delete project: read", "project", err)
		}
		return deleteProject(ctx, tx, ev, cur)
	})
}

// deleteProject is the one DELETE of a project, for DeleteProject and
// DeleteProjectIf, which hold the project's row locked: no task can join it
// (the foreign key's check would wait for the lock). Its tasks are deleted
// first, by a statement that returns exactly the rows it deleted, for their
// task.deleted events (oldest first); then the project, and its counters.
func deleteProject(ctx context.Context, tx pgx.Tx, ev *pending, p store.Project) error {
	workspaceID, id := p.WorkspaceID, p.ID
	rows, err := tx.Query(ctx, "DELETE FROM tasks WHERE workspace_id = $1 AND project_id = $2 RETURNING "+taskCols, workspaceID, id)
	if err != nil {
		return dbError(ctx, "delete project: tasks", err)
	}
	tasks, err := pgx.CollectRows(rows, collectTask)
	if err != nil {
		return dbError(ctx, "delete project: tasks", err)
	}
	sortTasks(tasks)
	for i := range tasks {
		if err := ev.Add(workspaceID, store.EventTaskDeleted, store.Resource{Task: &tasks[i]}, nil); err != nil {
			return err
		}
	}
	if err := ev.Add(workspaceID, store.EventProjectDeleted, store.Resource{Project: &p}, nil); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, "DELETE FROM projects WHERE workspace_id = $1 AND id = $2", workspaceID, id)
	if err != nil {
		return dbError(ctx, "delete project", err)
	}
	if tag.RowsAffected() == 0 {
		return store.NotFound("project")
	}
	if err := dropProjectCounts(ctx, tx, workspaceID, id); err != nil {
		return dbError(ctx, "delete project: task counts", err)
	}
	if _, err := tx.Exec(ctx, addProjectCount, workspaceID, -1); err != nil {
		return dbError(ctx, "delete project: count", err)
	}
	return nil
}

// DeleteProjectIf locks the project's row, checks it and deletes it in one
// transaction, so that no update slips in between the check and the delete.
func (s *Store) DeleteProjectIf(ctx context.Context, workspaceID, id string, check func(store.Project) error) error {
	return s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		cur, err := scanProject(tx.QueryRow(ctx,
			"SELECT "+projectCols+" FROM projects WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspaceID, id))
		if err != nil {
			return rowError(ctx, "delete project: read", "project", err)
		}
		if err := check(cur); err != nil {
			return err
		}
		return deleteProject(ctx, tx, ev, cur)
	})
}

// ListProjects returns one page of the workspace's projects matching filter
// and their total, both read from one snapshot.
func (s *Store) ListProjects(ctx context.Context, workspaceID string, filter store.ProjectFilter, page store.Page) ([]store.Project, int, error) {
	base, err := keyset.Projects(sqlDialect, workspaceID, filter, likeSearch("name", "description"))
	if err != nil {
		return nil, 0, err
	}
	var (
		items []store.Project
		total int
	)
	err = s.inSnapshot(ctx, func(tx pgx.Tx) error {
		var err error
		items, total, err = listPage(ctx, tx, projectCols, "projects", base, keyset.ProjectSort, page, collectProject,
			func() (int, error) {
				if filter.Query != "" {
					return count(ctx, tx, "projects", base) // a search counts its matches
				}
				return projectTotal(ctx, tx, workspaceID)
			})
		if err != nil {
			return dbError(ctx, "list projects", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}
