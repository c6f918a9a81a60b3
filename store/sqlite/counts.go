package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/counter"
	"github.com/example/workspace/store/internal/keyset"
	"github.com/example/workspace/store/sqlite/engine"
)

// The counters of migration 0004 are changed inside the write that changes
// the rows they count (the group committer's savepoint of that write), so a
// total and a page read in one snapshot always agree. SQLite has one writer,
// so their order does not matter here; they are applied in counter's order
// anyway, as on PostgreSQL.

// upsertCounts holds the statement that applies n changes, by n: one
// statement per write, cached by its text like every other.
var upsertCounts = func() [9]string {
	var qs [9]string
	for n := 1; n < len(qs); n++ {
		qs[n] = `INSERT INTO task_counts (workspace_id, project_id, status, n) VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?), `, n), `, `) +
			` ON CONFLICT (workspace_id, project_id, status) DO UPDATE SET n = n + excluded.n`
	}
	return qs
}()

// upsertTaskCounts adds ?4 to the four counters of a task of project ?2 with
// status ?3 (both as counter.Value writes them) in workspace ?1 (counter.Of's rows, in its order): the create's
// and delete's statement, with four arguments where addTaskCounts would
// bind sixteen.
const upsertTaskCounts = `INSERT INTO task_counts (workspace_id, project_id, status, n)
	VALUES (?1, '', '', ?4), (?1, '', ?3, ?4), (?1, ?2, '', ?4), (?1, ?2, ?3, ?4)
	ON CONFLICT (workspace_id, project_id, status) DO UPDATE SET n = n + excluded.n`

// countTask adds n to the counters of a task of project p with status s.
func countTask(ctx context.Context, tx *engine.Tx, workspaceID, p, s string, n int64) error {
	_, err := tx.ExecContext(ctx, upsertTaskCounts, workspaceID, counter.Value(p), counter.Value(s), n)
	return err
}

// addTaskCounts applies ds to the workspace's task counters.
func addTaskCounts(ctx context.Context, tx *engine.Tx, workspaceID string, ds []counter.Delta) error {
	for len(ds) > 0 {
		chunk := ds[:min(len(ds), len(upsertCounts)-1)]
		ds = ds[len(chunk):]
		args := make([]any, 0, 4*len(chunk))
		for _, d := range chunk {
			args = append(args, workspaceID, d.ProjectID, d.Status, d.N)
		}
		if _, err := tx.ExecContext(ctx, upsertCounts[len(chunk)], args...); err != nil {
			return err
		}
	}
	return nil
}

// dropProjectCounts takes the counters of a project whose tasks are gone
// (deleted with it) out of the workspace's rollups: its (p, s) rows out of
// (Any, s) and its (p, Any) row out of (Any, Any). Then it deletes its rows.
func dropProjectCounts(ctx context.Context, tx *engine.Tx, workspaceID, projectID string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO task_counts (workspace_id, project_id, status, n)
		SELECT workspace_id, '', status, -n FROM task_counts WHERE workspace_id = ? AND project_id = ? ORDER BY status
		ON CONFLICT (workspace_id, project_id, status) DO UPDATE SET n = n + excluded.n`, workspaceID, counter.Value(projectID)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM task_counts WHERE workspace_id = ? AND project_id = ?`, workspaceID, counter.Value(projectID))
	return err
}

// Which column of workspace_counts a change is to.
const (
	projectsCount = "projects"
	apiKeysCount  = "api_keys"
)

var addWorkspaceCount = map[string]string{
	projectsCount: `INSERT INTO workspace_counts (workspace_id, projects, api_keys) VALUES (?, ?, 0)
		ON CONFLICT (workspace_id) DO UPDATE SET projects = projects + excluded.projects`,
	apiKeysCount: `INSERT INTO workspace_counts (workspace_id, projects, api_keys) VALUES (?, 0, ?)
		ON CONFLICT (workspace_id) DO UPDATE SET api_keys = api_keys + excluded.api_keys`,
}

func addCount(ctx context.Context, tx *engine.Tx, workspaceID, what string, n int64) error {
	_, err := tx.ExecContext(ctx, addWorkspaceCount[what], workspaceID, n)
	return err
}

// taskTotal is how many of the workspace's tasks match filter. The filters
// the counters cover — workspace, project, one status or a list of them —
// read one counter row per status (store/counter's rollups); a filter that no
// counter covers (a search, a date range) counts its matching rows instead,
// at O(matches), as the README says.
func taskTotal(ctx context.Context, q engine.Querier, workspaceID string, filter store.TaskFilter) (int, error) {
	if !counter.Covers(filter) {
		base, err := keyset.Tasks(sqlDialect, workspaceID, filter, ftsSearch("tasks_fts"))
		if err != nil {
			return 0, err
		}
		return count(ctx, q, `SELECT count(*) FROM tasks WHERE `+base.Where(), base.Args()...)
	}
	statuses := counter.Statuses(filter)
	if len(statuses) == 0 {
		return 0, nil // a status both filters ask for and one of them excludes
	}
	if len(statuses) == 1 {
		return oneCount(q.QueryRowContext(ctx, `SELECT n FROM task_counts WHERE workspace_id = ? AND project_id = ? AND status = ?`,
			workspaceID, counter.Filter(filter.ProjectID), statuses[0]))
	}
	args := []any{workspaceID, counter.Filter(filter.ProjectID)}
	for _, st := range statuses {
		args = append(args, st)
	}
	return count(ctx, q, `SELECT coalesce(sum(n), 0) FROM task_counts WHERE workspace_id = ? AND project_id = ? AND status IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(statuses)), ", ")+`)`, args...)
}

// projectTotal is how many projects the workspace has: one counter row.
func projectTotal(ctx context.Context, q engine.Querier, workspaceID string) (int, error) {
	return oneCount(q.QueryRowContext(ctx, `SELECT projects FROM workspace_counts WHERE workspace_id = ?`, workspaceID))
}

// apiKeyTotal is how many keys the workspace has, revoked ones included.
func apiKeyTotal(ctx context.Context, q engine.Querier, workspaceID string) (int, error) {
	return oneCount(q.QueryRowContext(ctx, `SELECT api_keys FROM workspace_counts WHERE workspace_id = ?`, workspaceID))
}

// oneCount scans a counter; a row never written is a count of zero.
func oneCount(row engine.Scanner) (int, error) {
	var n int64
	err := row.Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return int(n), err
}
