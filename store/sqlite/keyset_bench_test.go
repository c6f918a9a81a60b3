package sqlite

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
	"github.com/example/workspace/store/sqlite/engine"
)

// BenchmarkListDepth measures one page of 20 of a large workspace at its
// start and deep inside it, by offset and by cursor, in the default order and
// by due date. $WORKSPACE_BENCH_TASKS sets the workspace's size (default
// 100,000). The totals are counted as ListTasks counts them today.
func BenchmarkListDepth(b *testing.B) {
	n := 100_000
	if v := os.Getenv("WORKSPACE_BENCH_TASKS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	st, ctx, now := benchStore(b)
	err := st.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		for i := range n {
			var due any
			if i%5 != 0 {
				due = now.Add(time.Duration(i%977) * time.Hour).UnixMicro()
			}
			at := now.Add(time.Duration(i) * time.Millisecond).UnixMicro()
			if _, err := tx.ExecContext(ctx, `INSERT INTO tasks (id, workspace_id, project_id, title, description, status, due_at, completed_at, created_at, updated_at)
				VALUES (?, 'ws_1', 'proj_1', ?, '', 'todo', ?, NULL, ?, ?)`,
				fmt.Sprintf("task_%08d", i), fmt.Sprintf("task %d", i), due, at, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range []store.Order{{}, {By: store.SortDueAt, Ascending: true}} {
		deep := n - 20
		// The position of the row before the deep page, as a cursor holds it.
		before, _, err := st.ListTasks(ctx, "ws_1", store.TaskFilter{}, store.Page{Limit: 1, Offset: deep - 1, Order: o})
		if err != nil || len(before) != 1 {
			b.Fatalf("ListTasks at %d: %v", deep-1, err)
		}
		pos := &store.Position{ID: before[0].ID}
		if o.By == store.SortDueAt {
			pos.Key = before[0].DueAt
		} else {
			pos.Key = &before[0].CreatedAt
		}
		for _, c := range []struct {
			name string
			page store.Page
		}{
			{"offset-0", store.Page{Limit: 20, Order: o}},
			{fmt.Sprintf("offset-%d", deep), store.Page{Limit: 20, Offset: deep, Order: o}},
			{fmt.Sprintf("cursor-%d", deep), store.Page{Limit: 20, Order: o, After: pos}},
		} {
			b.Run(fmt.Sprintf("%s/%s/n=%d", o.Field(), c.name, n), func(b *testing.B) {
				for b.Loop() {
					got, _, err := st.ListTasks(ctx, "ws_1", store.TaskFilter{}, c.page)
					if err != nil || len(got) != 20 {
						b.Fatalf("%d rows, %v", len(got), err)
					}
				}
			})
			// The page alone, without the total: what a page costs once the
			// total comes from counters.
			b.Run(fmt.Sprintf("%s/%s/page-only/n=%d", o.Field(), c.name, n), func(b *testing.B) {
				for b.Loop() {
					err := st.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
						base, err := keyset.Tasks(sqlDialect, "ws_1", store.TaskFilter{}, ftsSearch("tasks_fts"))
						if err != nil {
							return err
						}
						got, err := listParts(ctx, tx, scanTask, taskCols, "tasks", base, keyset.TaskSort, c.page)
						if err == nil && len(got) != 20 {
							err = fmt.Errorf("%d rows", len(got))
						}
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
