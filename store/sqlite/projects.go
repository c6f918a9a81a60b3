package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
	"github.com/example/workspace/store/sqlite/engine"
)

const projectCols = `id, workspace_id, name, description, created_at, updated_at, version`

func scanProject(sc engine.Scanner) (store.Project, error) {
	var p store.Project
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.WorkspaceID, &p.Name, &p.Description, &created, &updated, &p.Version); err != nil {
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
	return wrap(ctx, "create project", s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO projects (`+projectCols+`) VALUES (?, ?, ?, ?, ?, ?, 1)`, args...)
		switch {
		case isUnique(err):
			return conflict("project id already exists")
		case isForeignKey(err):
			return store.NotFound("workspace")
		case err != nil:
			return err
		}
		if err := addCount(ctx, tx, p.WorkspaceID, projectsCount, 1); err != nil {
			return err
		}
		p.Version = 1
		return ev.Add(p.WorkspaceID, store.EventProjectCreated, store.Resource{Project: &p}, nil)
	}))
}

func getProject(ctx context.Context, q engine.Querier, workspaceID, id string) (store.Project, error) {
	p, err := scanProject(q.QueryRowContext(ctx,
		`SELECT `+projectCols+` FROM projects WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Project{}, store.NotFound("project")
	}
	return p, err
}

func (s *Store) GetProject(ctx context.Context, workspaceID, id string) (store.Project, error) {
	p, err := getProject(ctx, s.db, workspaceID, id)
	return p, wrap(ctx, "get project", err)
}

func (s *Store) UpdateProject(ctx context.Context, workspaceID, id string, update func(*store.Project) error) (store.Project, error) {
	var out store.Project
	var updateErr error
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		cur, err := getProject(ctx, tx, workspaceID, id)
		if err != nil {
			return err
		}
		next := cur
		if updateErr = update(&next); updateErr != nil {
			return updateErr
		}
		next.ID, next.WorkspaceID, next.CreatedAt = cur.ID, cur.WorkspaceID, cur.CreatedAt
		next.Version = cur.Version + 1
		var e encoder
		args := []any{next.Name, next.Description, e.micros(next.UpdatedAt), next.Version, workspaceID, id}
		if e.err != nil {
			return e.err
		}
		res, err := tx.ExecContext(ctx,
			`UPDATE projects SET name = ?, description = ?, updated_at = ?, version = ? WHERE workspace_id = ? AND id = ?`, args...)
		if err := affected(res, err, "project"); err != nil {
			return err
		}
		out = normProject(next)
		return ev.Add(workspaceID, store.EventProjectUpdated, store.Resource{Project: &out}, &store.Resource{Project: &cur})
	})
	if updateErr != nil {
		return store.Project{}, updateErr
	}
	if err != nil {
		return store.Project{}, wrap(ctx, "update project", err)
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
// project and its tasks go together or not at all; the project's counters
// leave the workspace's totals in the same write.
func (s *Store) DeleteProject(ctx context.Context, workspaceID, id string) error {
	return wrap(ctx, "delete project", s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		cur, err := getProject(ctx, tx, workspaceID, id)
		if err != nil {
			return err
		}
		return deleteProject(ctx, tx, ev, cur)
	}))
}

// deleteProject is the one DELETE of a project, for DeleteProject and
// DeleteProjectIf: its tasks go by cascade, its counters with them. Its
// events are a task.deleted for each of its tasks, oldest first (created_at,
// then id), then the project.deleted.
func deleteProject(ctx context.Context, tx *engine.Tx, ev *pending, p store.Project) error {
	workspaceID, id := p.WorkspaceID, p.ID
	rows, err := tx.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE workspace_id = ? AND project_id = ?
		ORDER BY created_at, id`, workspaceID, id)
	if err != nil {
		return err
	}
	var tasks []store.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			rows.Close()
			return err
		}
		tasks = append(tasks, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for i := range tasks {
		if err := ev.Add(workspaceID, store.EventTaskDeleted, store.Resource{Task: &tasks[i]}, nil); err != nil {
			return err
		}
	}
	if err := ev.Add(workspaceID, store.EventProjectDeleted, store.Resource{Project: &p}, nil); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE workspace_id = ? AND id = ?`, workspaceID, id)
	if err := affected(res, err, "project"); err != nil {
		return err
	}
	if err := dropProjectCounts(ctx, tx, workspaceID, id); err != nil {
		return err
	}
	return addCount(ctx, tx, workspaceID, projectsCount, -1)
}

// DeleteProjectIf reads the project and deletes it in one write transaction:
// SQLite's single writer keeps anything from changing it in between.
func (s *Store) DeleteProjectIf(ctx context.Context, workspaceID, id string, check func(store.Project) error) error {
	var checkErr error
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		cur, err := getProject(ctx, tx, workspaceID, id)
		if err != nil {
			return err
		}
		if checkErr = check(cur); checkErr != nil {
			return checkErr
		}
		return deleteProject(ctx, tx, ev, cur)
	})
	if checkErr != nil {
		return checkErr
	}
	return wrap(ctx, "delete project", err)
}

func (s *Store) ListProjects(ctx context.Context, workspaceID string, filter store.ProjectFilter, page store.Page) ([]store.Project, int, error) {
	var out []store.Project
	var total int
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		base, err := keyset.Projects(sqlDialect, workspaceID, filter, ftsSearch("projects_fts"))
		if err != nil {
			return err
		}
		out, err = listParts(ctx, tx, scanProject, projectCols, "projects", base, keyset.ProjectSort, page)
		if err != nil {
			return err
		}
		if filter.Query == "" {
			total, err = projectTotal(ctx, tx, workspaceID)
		} else {
			total, err = count(ctx, tx, `SELECT count(*) FROM projects WHERE `+base.Where(), base.Args()...)
		}
		return err
	})
	if err != nil {
		return nil, 0, wrap(ctx, "list projects", err)
	}
	return out, total, nil
}
