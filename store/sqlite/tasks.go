package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/counter"
	"github.com/example/workspace/store/internal/keyset"
	"github.com/example/workspace/store/sqlite/engine"
)

const taskCols = `id, workspace_id, project_id, title, description, status, due_at, completed_at, created_at, updated_at, version`

func scanTask(sc engine.Scanner) (store.Task, error) {
	var t store.Task
	var due, completed sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&t.ID, &t.WorkspaceID, &t.ProjectID, &t.Title, &t.Description, &t.Status,
		&due, &completed, &created, &updated, &t.Version); err != nil {
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
	return wrap(ctx, "create task", s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		return insertTask(ctx, tx, ev, t)
	}))
}

// CreateTasks inserts the tasks one by one, with CreateTask's statement, in
// one write: one savepoint of one group commit, so that a failing item undoes
// the items before it and nothing else. The statement is prepared once per
// connection (the engine's cache), so a task costs one step of SQLite's VM.
func (s *Store) CreateTasks(ctx context.Context, tasks []store.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	return wrap(ctx, "create tasks", s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		for i, t := range tasks {
			if err := insertTask(ctx, tx, ev, t); err != nil {
				if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
					return &store.BatchItemError{Index: i, Err: err}
				}
				return err
			}
		}
		return nil
	}))
}

// insertTask is the one INSERT of a task, for CreateTask and CreateTasks.
func insertTask(ctx context.Context, tx *engine.Tx, ev *pending, t store.Task) error {
	var e encoder
	args := []any{t.ID, t.WorkspaceID, t.ProjectID, t.Title, t.Description, t.Status,
		e.optMicros(t.DueAt), e.optMicros(t.CompletedAt), e.micros(t.CreatedAt), e.micros(t.UpdatedAt)}
	if e.err != nil {
		return e.err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO tasks (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`, args...)
	switch {
	case isUnique(err):
		return conflict("task id already exists")
	case isForeignKey(err):
		return store.NotFound("project")
	case err != nil:
		return err
	}
	if err := countTask(ctx, tx, t.WorkspaceID, t.ProjectID, t.Status, 1); err != nil {
		return err
	}
	t.Version = 1
	return ev.Add(t.WorkspaceID, store.EventTaskCreated, store.Resource{Task: &t}, nil)
}

func getTask(ctx context.Context, q engine.Querier, workspaceID, id string) (store.Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx,
		`SELECT `+taskCols+` FROM tasks WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Task{}, store.NotFound("task")
	}
	return t, err
}

func (s *Store) GetTask(ctx context.Context, workspaceID, id string) (store.Task, error) {
	t, err := getTask(ctx, s.db, workspaceID, id)
	return t, wrap(ctx, "get task", err)
}

// taskUpdateCols are the columns an update may change, besides version.
var taskUpdateCols = [...]string{"project_id", "title", "description", "status", "due_at", "completed_at", "updated_at"}

// updateTaskSQL is the UPDATE of a task that sets the columns of mask (bit
// i: taskUpdateCols[i]) and the version, and no other: SQLite rewrites the
// entries of every index holding a column the statement sets, and runs the
// search index's trigger whenever it sets the title or the description,
// whether or not the value changed. An update that changes the status
// alone would otherwise pay for six indexes and the full-text index.
var updateTaskSQL = func() (qs [1 << len(taskUpdateCols)]string) {
	for mask := range qs {
		q := `UPDATE tasks SET `
		for i, c := range taskUpdateCols {
			if mask&(1<<i) != 0 {
				q += c + ` = ?, `
			}
		}
		qs[mask] = q + `version = ? WHERE workspace_id = ? AND id = ?`
	}
	return qs
}()

func (s *Store) UpdateTask(ctx context.Context, workspaceID, id string, update func(*store.Task) error) (store.Task, error) {
	var out store.Task
	var updateErr error
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		cur, err := getTask(ctx, tx, workspaceID, id)
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
		was := [len(taskUpdateCols)]any{cur.ProjectID, cur.Title, cur.Description, cur.Status,
			e.optMicros(cur.DueAt), e.optMicros(cur.CompletedAt), e.micros(cur.UpdatedAt)}
		now := [len(taskUpdateCols)]any{next.ProjectID, next.Title, next.Description, next.Status,
			e.optMicros(next.DueAt), e.optMicros(next.CompletedAt), e.micros(next.UpdatedAt)}
		if e.err != nil {
			return e.err
		}
		args := make([]any, 0, len(now)+3)
		changed := 0
		for i := range now {
			if now[i] != was[i] {
				changed |= 1 << i
				args = append(args, now[i])
			}
		}
		res, err := tx.ExecContext(ctx, updateTaskSQL[changed], append(args, next.Version, workspaceID, id)...)
		if isForeignKey(err) {
			return store.NotFound("project")
		}
		if err := affected(res, err, "task"); err != nil {
			return err
		}
		if err := addTaskCounts(ctx, tx, workspaceID, counter.Move(cur.ProjectID, cur.Status, next.ProjectID, next.Status)); err != nil {
			return err
		}
		out = normTask(next)
		return ev.Add(workspaceID, store.EventTaskUpdated, store.Resource{Task: &out}, &store.Resource{Task: &cur})
	})
	if updateErr != nil {
		return store.Task{}, updateErr
	}
	if err != nil {
		return store.Task{}, wrap(ctx, "update task", err)
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
	return wrap(ctx, "delete task", s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		cur, err := scanTask(tx.QueryRowContext(ctx, `DELETE FROM tasks WHERE workspace_id = ? AND id = ? RETURNING `+taskCols,
			workspaceID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("task")
		}
		if err != nil {
			return err
		}
		if err := countTask(ctx, tx, workspaceID, cur.ProjectID, cur.Status, -1); err != nil {
			return err
		}
		return ev.Add(workspaceID, store.EventTaskDeleted, store.Resource{Task: &cur}, nil)
	}))
}

// DeleteTaskIf is DeleteProjectIf for tasks.
func (s *Store) DeleteTaskIf(ctx context.Context, workspaceID, id string, check func(store.Task) error) error {
	var checkErr error
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		cur, err := getTask(ctx, tx, workspaceID, id)
		if err != nil {
			return err
		}
		if checkErr = check(cur); checkErr != nil {
			return checkErr
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tasks WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		if err := affected(res, err, "task"); err != nil {
			return err
		}
		if err := countTask(ctx, tx, workspaceID, cur.ProjectID, cur.Status, -1); err != nil {
			return err
		}
		return ev.Add(workspaceID, store.EventTaskDeleted, store.Resource{Task: &cur}, nil)
	})
	if checkErr != nil {
		return checkErr
	}
	return wrap(ctx, "delete task", err)
}

func (s *Store) ListTasks(ctx context.Context, workspaceID string, filter store.TaskFilter, page store.Page) ([]store.Task, int, error) {
	var out []store.Task
	var total int
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		base, err := keyset.Tasks(sqlDialect, workspaceID, filter, ftsSearch("tasks_fts"))
		if err != nil {
			return err
		}
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
		out, err = listParts(ctx, tx, scanTask, taskCols, "tasks", base, keyset.TaskSort, page)
		if err != nil {
			return err
		}
		total, err = taskTotal(ctx, tx, workspaceID, filter)
		return err
	})
	if err != nil {
		return nil, 0, wrap(ctx, "list tasks", err)
	}
	return out, total, nil
}
