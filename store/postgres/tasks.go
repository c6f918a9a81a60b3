package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/counter"
	"github.com/example/workspace/store/internal/keyset"
)

const taskCols = "id, workspace_id, project_id, title, description, status, due_at, completed_at, created_at, updated_at, version"

func scanTask(row pgx.Row) (store.Task, error) {
	var t store.Task
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.ProjectID, &t.Title, &t.Description, &t.Status,
		&t.DueAt, &t.CompletedAt, &t.CreatedAt, &t.UpdatedAt, &t.Version); err != nil {
		return store.Task{}, err
	}
	t.DueAt, t.CompletedAt = utcPtr(t.DueAt), utcPtr(t.CompletedAt)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

func collectTask(row pgx.CollectableRow) (store.Task, error) { return scanTask(row) }

// insertTaskSQL is the one INSERT of a task, for CreateTask and CreateTasks;
// a new task is at version 1.
const insertTaskSQL = "INSERT INTO tasks (" + taskCols + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)"

func insertTaskArgs(t store.Task) []any {
	return []any{t.ID, t.WorkspaceID, t.ProjectID, t.Title, t.Description, t.Status,
		tsPtr(t.DueAt), tsPtr(t.CompletedAt), ts(t.CreatedAt), ts(t.UpdatedAt)}
}

// CreateTask stores a new task and counts it, in one round trip: a batch
// of two statements, one implicit transaction. The insert's foreign-key
// check (which locks the project's row) is done by the end of its
// statement, before the counters are locked. The composite foreign key
// rejects a project that is missing or in another workspace alike, as
// NotFound("project").
func (s *Store) CreateTask(ctx context.Context, t store.Task) error {
	b := &pgx.Batch{}
	b.Queue(insertTaskSQL, insertTaskArgs(t)...)
	b.Queue(upsertTaskCounts, countArgs(t.WorkspaceID, counter.Of(t.ProjectID, t.Status, 1))...)
	t.Version = 1
	var ev pending
	if err := ev.Add(t.WorkspaceID, store.EventTaskCreated, store.Resource{Task: &t}, nil); err != nil {
		return err
	}
	if err := s.batchWithEvents(ctx, b, &ev); err != nil {
		return dbError(ctx, "create task", err)
	}
	return nil
}

// CreateTasks sends CreateTask's INSERT once per task in one pipelined batch
// (one round trip) inside one transaction. The statements run in order and
// the first that fails ends the batch, so its index is the failing item's;
// the transaction is then rolled back, taking the items before it along.
func (s *Store) CreateTasks(ctx context.Context, tasks []store.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	return s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		var b pgx.Batch
		for _, t := range tasks {
			b.Queue(insertTaskSQL, insertTaskArgs(t)...)
			t.Version = 1
			if err := ev.Add(t.WorkspaceID, store.EventTaskCreated, store.Resource{Task: &t}, nil); err != nil {
				return err
			}
		}
		br := tx.SendBatch(ctx, &b)
		for i := range tasks {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				err = dbError(ctx, "create tasks", err)
				if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
					return &store.BatchItemError{Index: i, Err: err}
				}
				return err
			}
		}
		if err := br.Close(); err != nil {
			return dbError(ctx, "create tasks", err)
		}
		// The counters last, in their one order, as every write takes them.
		d := counter.Deltas{}
		for _, t := range tasks {
			d.Task(t.ProjectID, t.Status, 1)
		}
		return dbError(ctx, "create tasks: counters", addTaskCounts(ctx, tx, tasks[0].WorkspaceID, d.Sorted()))
	})
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
	err := s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
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
				" due_at = $7, completed_at = $8, updated_at = $9, version = version + 1"+
				" WHERE workspace_id = $1 AND id = $2 RETURNING "+taskCols,
			cur.WorkspaceID, cur.ID, t.ProjectID, t.Title, t.Description, t.Status,
			tsPtr(t.DueAt), tsPtr(t.CompletedAt), ts(t.UpdatedAt)))
		if err != nil {
			return rowError(ctx, "update task: write", "task", err)
		}
		if err := addTaskCounts(ctx, tx, cur.WorkspaceID, counter.Move(cur.ProjectID, cur.Status, out.ProjectID, out.Status)); err != nil {
			return dbError(ctx, "update task: count", err)
		}
		return ev.Add(workspaceID, store.EventTaskUpdated, store.Resource{Task: &out}, &store.Resource{Task: &cur})
	})
	if err != nil {
		return store.Task{}, err
	}
	return out, nil
}

// DeleteTask deletes a task of the workspace and uncounts it, in one
// statement that returns the task, for its event.
func (s *Store) DeleteTask(ctx context.Context, workspaceID, id string) error {
	return s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		cur, err := scanTask(tx.QueryRow(ctx, deleteTaskCounting, workspaceID, id))
		if err != nil {
			return rowError(ctx, "delete task", "task", err)
		}
		return ev.Add(workspaceID, store.EventTaskDeleted, store.Resource{Task: &cur}, nil)
	})
}

// DeleteTaskIf is DeleteProjectIf for tasks.
func (s *Store) DeleteTaskIf(ctx context.Context, workspaceID, id string, check func(store.Task) error) error {
	return s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		cur, err := scanTask(tx.QueryRow(ctx,
			"SELECT "+taskCols+" FROM tasks WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspaceID, id))
		if err != nil {
			return rowError(ctx, "delete task: read", "task", err)
		}
		if err := check(cur); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM tasks WHERE workspace_id = $1 AND id = $2", workspaceID, id); err != nil {
			return dbError(ctx, "delete task", err)
		}
		if err := addTaskCounts(ctx, tx, workspaceID, counter.Of(cur.ProjectID, cur.Status, -1)); err != nil {
			return dbError(ctx, "delete task: counters", err)
		}
		return ev.Add(workspaceID, store.EventTaskDeleted, store.Resource{Task: &cur}, nil)
	})
}

// ListTasks returns one page of the workspace's tasks matching filter and how
// many match, all from one snapshot, including the check that the filter's
// project exists.
func (s *Store) ListTasks(ctx context.Context, workspaceID string, filter store.TaskFilter, page store.Page) ([]store.Task, int, error) {
	// Only the filters in use become conditions, rather than "$2 = '' OR …",
	// so that each combination gets a plan that uses its index.
	base, err := keyset.Tasks(sqlDialect, workspaceID, filter, likeSearch("title", "description"))
	if err != nil {
		return nil, 0, err
	}
	var (
		items []store.Task
		total int
	)
	err = s.inSnapshot(ctx, func(tx pgx.Tx) error {
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
		items, total, err = listPage(ctx, tx, taskCols, "tasks", base, keyset.TaskSort, page, collectTask,
			func() (int, error) { return taskTotal(ctx, tx, workspaceID, filter) })
		if err != nil {
			return dbError(ctx, "list tasks", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}
