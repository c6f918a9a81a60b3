package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
	"github.com/example/workspace/store/sqlite/engine"
)

// TestProjectStatusListPlan: a list filtered by project and status, in the
// default order, walks migration 0008's index from the first page to the
// last (after a cursor too), instead of a project's index whose rows it
// would read to test their status.
func TestProjectStatusListPlan(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, t.TempDir()+"/plan.db")
	k := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, page := range []store.Page{{Limit: 21}, {Limit: 21, After: &store.Position{Key: &k, ID: "task_x"}}} {
		base, err := keyset.Tasks(sqlDialect, "ws_1", store.TaskFilter{ProjectID: "proj_1", Status: "todo"}, ftsSearch("tasks_fts"))
		if err != nil {
			t.Fatal(err)
		}
		parts, err := keyset.Parts(base, keyset.TaskSort, page)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 1 {
			t.Fatalf("%d parts, want 1", len(parts))
		}
		p := parts[0]
		var plan []string
		err = s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
			rows, err := tx.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT `+taskCols+` FROM tasks WHERE `+p.Where()+
				` ORDER BY `+p.OrderBy+` LIMIT ? OFFSET ?`, append(p.Args(), 21, 0)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, unused int64
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					return err
				}
				plan = append(plan, detail)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(plan, "; ")
		t.Logf("plan: %s", got)
		if !strings.Contains(got, "USING INDEX tasks_by_project_status") || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("after %v: plan %q, want the index tasks_by_project_status and no sort", page.After != nil, got)
		}
	}
}
