package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/counter"
)

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

// CreateTask stores a new task and counts it, in one round trip: a batch
// of two statements, one implicit transaction. The insert's foreign-key
// check (which locks the project's row) is done by the end of its
// statement, before the counters are locked. The composite foreign key
// rejects a project that is missing or in another workspace alike, as
// NotFound("project").
func (s *Store) CreateTask(ctx context.Context, t store.Task) error {
	b := &pgx.Batch{}
	b.Queue("INSERT INTO tasks ("+taskCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		t.ID, t.WorkspaceID, t.ProjectID, t.Title, t.Description, t.Status,
		tsPtr(t.DueAt), tsPtr(t.CompletedAt), ts(t.CreatedAt), ts(t.UpdatedAt))
	b.Queue(upsertTaskCounts, countArgs(t.WorkspaceID, counter.Of(t.ProjectID, t.Status, 1))...)
	if err := execBatch(ctx, s.pool, b); err != nil {
		return dbError(ctx, "create task", err)
	}
	return nil
}

// GetTask returns a task of the workspace.
func (s *Store) GetTask(ctx context.Context, workspaceID, id string) (store.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx,
		"SELECT "+taskCols+" FROM tasks WHERE workspace_id = $1 AND id = $2", workspaceID, id))
	if err != nil {
		return store.Task{}, rowError(ctx, "get task", "task", err)
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
			return rowError(ctx, "update task: read", "task", err)
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
			return rowError(ctx, "update task: write", "task", err)
		}
		if err := addTaskCounts(ctx, tx, cur.WorkspaceID, counter.Move(cur.ProjectID, cur.Status, out.ProjectID, out.Status)); err != nil {
			return dbError(ctx, "update task: count", err)
		}
		return nil
	})
	if err != nil {
		return store.Task{}, err
	}
	return out, nil
}

// DeleteTask deletes a task of the workspace and uncounts it, in one
// statement.
func (s *Store) DeleteTask(ctx context.Context, workspaceID, id string) error {
	tag, err := s.pool.Exec(ctx, deleteTaskCounting, workspaceID, id)
	if err != nil {
		return dbError(ctx, "delete task", err)
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
				return dbError(ctx, "list tasks: check project", err)
			}
			if !exists {
				return store.NotFound("project")
			}
		}
		var err error
		items, err = listPage(ctx, tx, taskCols, "tasks", strings.Join(where, " AND "), args, page, collectTask)
		if err != nil {
			return dbError(ctx, "list tasks", err)
		}
		if total, err = taskTotal(ctx, tx, workspaceID, filter); err != nil {
			return dbError(ctx, "list tasks: total", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}
