package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/counter"
	"github.com/example/workspace/store/internal/keyset"
)

// The counters of migration 0004 change in the same transaction as the rows
// they count. Concurrent writers update the same rows (a workspace's rollups
// above all), so every transaction takes them last — after the rows it
// writes and the foreign-key checks on their parents — and in counter's
// order, (project_id, status) in "C" collation: the lock on a counter row is
// never held by a transaction that then waits for another lock, so no cycle
// of waits, no deadlock, can form through them.

// upsertTaskCounts applies the changes $2…$4 (parallel arrays, in order) to
// workspace $1's task counters.
const upsertTaskCounts = `INSERT INTO task_counts (workspace_id, project_id, status, n)
	SELECT $1::text, u.p, u.s, u.n FROM unnest($2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS u(p, s, n, i)
	ORDER BY u.i
	ON CONFLICT (workspace_id, project_id, status) DO UPDATE SET n = task_counts.n + excluded.n`

// countArgs are upsertTaskCounts' arguments for ds.
func countArgs(workspaceID string, ds []counter.Delta) []any {
	ps, ss, ns := make([]string, len(ds)), make([]string, len(ds)), make([]int64, len(ds))
	for i, d := range ds {
		ps[i], ss[i], ns[i] = d.ProjectID, d.Status, d.N
	}
	return []any{workspaceID, ps, ss, ns}
}

// addTaskCounts applies ds in tx; nothing to do when a write changed no
// counter (an update of a title).
func addTaskCounts(ctx context.Context, q querier, workspaceID string, ds []counter.Delta) error {
	if len(ds) == 0 {
		return nil
	}
	_, err := q.Exec(ctx, upsertTaskCounts, countArgs(workspaceID, ds)...)
	return err
}

// deleteTaskCounting deletes task $2 of workspace $1 and takes it out of its
// four counters (their keys written as counter.Of does) in one statement: the row is deleted (and locked) before the
// sorted upserts run. It returns the task deleted, no row when there is no
// such task.
const deleteTaskCounting = `WITH del AS (
		DELETE FROM tasks WHERE workspace_id = $1 AND id = $2 RETURNING *
	), counted AS (
	INSERT INTO task_counts (workspace_id, project_id, status, n)
	SELECT $1, k.p, k.s, -1 FROM del
	CROSS JOIN LATERAL (VALUES ('', ''), ('', '=' || del.status), ('=' || del.project_id, ''),
		('=' || del.project_id, '=' || del.status)) AS k(p, s)
	ORDER BY k.p COLLATE "C", k.s COLLATE "C"
	ON CONFLICT (workspace_id, project_id, status) DO UPDATE SET n = task_counts.n + excluded.n
	)
	SELECT ` + taskCols + ` FROM del`

// dropProjectCounts takes the counters of a project whose tasks are gone
// (deleted with it, in this transaction) out of the workspace's rollups: its
// (p, s) rows out of (Any, s) and its (p, Any) row out of (Any, Any), which
// sort before the project's own rows; then it deletes those. No other
// transaction can change the project's rows meanwhile: it would need one of
// the project's tasks, which the cascade holds, or the project, which the
// delete holds.
func dropProjectCounts(ctx context.Context, tx pgx.Tx, workspaceID, projectID string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO task_counts (workspace_id, project_id, status, n)
		SELECT workspace_id, '', status, -n FROM task_counts WHERE workspace_id = $1 AND project_id = $2
		ORDER BY status
		ON CONFLICT (workspace_id, project_id, status) DO UPDATE SET n = task_counts.n + excluded.n`,
		workspaceID, counter.Value(projectID)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM task_counts WHERE workspace_id = $1 AND project_id = $2`, workspaceID, counter.Value(projectID))
	return err
}

// addProjectCount and addAPIKeyCount change workspace $1's count by $2.
const (
	addProjectCount = `INSERT INTO workspace_counts (workspace_id, projects, api_keys) VALUES ($1, $2, 0)
		ON CONFLICT (workspace_id) DO UPDATE SET projects = workspace_counts.projects + excluded.projects`
	addAPIKeyCount = `INSERT INTO workspace_counts (workspace_id, projects, api_keys) VALUES ($1, 0, $2)
		ON CONFLICT (workspace_id) DO UPDATE SET api_keys = workspace_counts.api_keys + excluded.api_keys`
)

// execBatch sends the statements in one round trip. They run in order, in
// one implicit transaction unless q is already one: the first error stops
// the rest and undoes what ran.
func execBatch(ctx context.Context, q querier, b *pgx.Batch) error {
	br := q.SendBatch(ctx, b)
	for range b.Len() {
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // reports err again
			return err
		}
	}
	return br.Close()
}

// taskTotal is how many of the workspace's tasks match filter. The filters
// the counters cover — workspace, project, one status or a list of them —
// read one counter row per status (store/counter's rollups); a filter that no
// counter covers (a search, a date range) counts its matching rows instead,
// at O(matches), as the README says.
func taskTotal(ctx context.Context, q querier, workspaceID string, filter store.TaskFilter) (int, error) {
	if !counter.Covers(filter) {
		base, err := keyset.Tasks(sqlDialect, workspaceID, filter, likeSearch("title", "description"))
		if err != nil {
			return 0, err
		}
		var n int
		err = q.QueryRow(ctx, "SELECT count(*) FROM tasks WHERE "+base.Where(), base.Args()...).Scan(&n)
		return n, err
	}
	switch statuses := counter.Statuses(filter); len(statuses) {
	case 0:
		return 0, nil // a status both filters ask for and one of them excludes
	case 1:
		return oneCount(q.QueryRow(ctx, "SELECT n FROM task_counts WHERE workspace_id = $1 AND project_id = $2 AND status = $3",
			workspaceID, counter.Filter(filter.ProjectID), statuses[0]))
	default:
		var n int
		err := q.QueryRow(ctx, "SELECT coalesce(sum(n), 0) FROM task_counts WHERE workspace_id = $1 AND project_id = $2 AND status = ANY($3)",
			workspaceID, counter.Filter(filter.ProjectID), statuses).Scan(&n)
		return n, err
	}
}

// projectTotal is how many projects the workspace has: one counter row.
func projectTotal(ctx context.Context, q querier, workspaceID string) (int, error) {
	return oneCount(q.QueryRow(ctx, "SELECT projects FROM workspace_counts WHERE workspace_id = $1", workspaceID))
}

// apiKeyTotal is how many keys the workspace has, revoked ones included.
func apiKeyTotal(ctx context.Context, q querier, workspaceID string) (int, error) {
	return oneCount(q.QueryRow(ctx, "SELECT api_keys FROM workspace_counts WHERE workspace_id = $1", workspaceID))
}

// oneCount scans a counter; a row never written is a count of zero.
func oneCount(row pgx.Row) (int, error) {
	var n int64
	err := row.Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return int(n), err
}
