package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
)

// BenchmarkListDepth is store/sqlite's on PostgreSQL: one page of 20 of a
// large workspace at its start and deep inside it, by offset and by cursor,
// with its total and without. $WORKSPACE_BENCH_TASKS sets the size (default
// 100,000).
func BenchmarkListDepth(b *testing.B) {
	n := 100_000
	if v := os.Getenv("WORKSPACE_BENCH_TASKS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	s := newStore(b)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateWorkspace(ctx, store.Workspace{ID: "ws_1", Name: "w", Plan: "free", CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateProject(ctx, store.Project{ID: "proj_1", WorkspaceID: "ws_1", Name: "p", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO tasks (id, workspace_id, project_id, title, description, status, due_at, completed_at, created_at, updated_at)
		SELECT 'task_' || lpad(i::text, 8, '0'), 'ws_1', 'proj_1', 'task ' || i, '', 'todo',
			CASE WHEN i % 5 = 0 THEN NULL ELSE $1::timestamptz + (i % 977) * interval '1 hour' END, NULL,
			$1::timestamptz + i * interval '1 millisecond', $1::timestamptz + i * interval '1 millisecond'
		FROM generate_series(0, $2::int - 1) AS i`, now, n); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE tasks`); err != nil {
		b.Fatal(err)
	}
	for _, o := range []store.Order{{}, {By: store.SortDueAt, Ascending: true}} {
		deep := n - 20
		before, _, err := s.ListTasks(ctx, "ws_1", store.TaskFilter{}, store.Page{Limit: 1, Offset: deep - 1, Order: o})
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
					got, _, err := s.ListTasks(ctx, "ws_1", store.TaskFilter{}, c.page)
					if err != nil || len(got) != 20 {
						b.Fatalf("%d rows, %v", len(got), err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/%s/page-only/n=%d", o.Field(), c.name, n), func(b *testing.B) {
				for b.Loop() {
					err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
						base, err := keyset.Tasks(sqlDialect, "ws_1", store.TaskFilter{}, likeSearch("title", "description"))
						if err != nil {
							return err
						}
						got, _, err := listPage(ctx, tx, taskCols, "tasks", base, keyset.TaskSort, c.page, collectTask,
							func() (int, error) { return 0, nil })
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
