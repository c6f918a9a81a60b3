package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/sqlite/engine"
)

// TestSearchIndexQueue runs creates, text edits, status changes, deletes and
// a project's cascade from many writers at once, so that they share group
// commits in every combination (a task created and edited or deleted in
// the same commit as well as in later ones), then checks that the search
// index is exactly the tasks' text (FTS5's own integrity-check against the
// content table), that migration 0008's queue is empty, and that searches
// find what a substring test finds.
func TestSearchIndexQueue(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, t.TempDir()+"/fts.db")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateWorkspace(ctx, store.Workspace{ID: "ws_1", Name: "w", Plan: "free", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"proj_keep", "proj_gone"} {
		if err := s.CreateProject(ctx, store.Project{ID: p, WorkspaceID: "ws_1", Name: p, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	const writers, each = 16, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("task_%d_%d", w, i)
				p := []string{"proj_keep", "proj_gone"}[i%2]
				task := store.Task{ID: id, WorkspaceID: "ws_1", ProjectID: p, Title: "alpha " + id, Description: "first",
					Status: "todo", CreatedAt: now, UpdatedAt: now}
				if err := s.CreateTask(ctx, task); err != nil {
					errs <- err
					return
				}
				var err error
				switch i % 5 {
				case 1: // edited at once: often in the commit that created it
					_, err = s.UpdateTask(ctx, "ws_1", id, func(t *store.Task) error { t.Title = "bravo " + id; return nil })
				case 2:
					err = s.DeleteTask(ctx, "ws_1", id)
				case 3: // no text change
					_, err = s.UpdateTask(ctx, "ws_1", id, func(t *store.Task) error { t.Status = "completed"; return nil })
				case 4:
					_, err = s.UpdateTask(ctx, "ws_1", id, func(t *store.Task) error { t.Description = "second charlie"; return nil })
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := s.CreateTasks(ctx, []store.Task{
		{ID: "task_b1", WorkspaceID: "ws_1", ProjectID: "proj_gone", Title: "alpha batch", Status: "todo", CreatedAt: now, UpdatedAt: now},
		{ID: "task_b2", WorkspaceID: "ws_1", ProjectID: "proj_keep", Title: "delta batch", Status: "todo", CreatedAt: now, UpdatedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProject(ctx, "ws_1", "proj_gone"); err != nil {
		t.Fatal(err)
	}

	if err := s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tasks_fts (tasks_fts) VALUES ('integrity-check')`)
		return err
	}); err != nil {
		t.Fatalf("FTS5 integrity-check: %v", err)
	}
	var queued int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM tasks_fts_queue`).Scan(&queued); err != nil || queued != 0 {
		t.Fatalf("tasks_fts_queue holds %d rows (%v), want 0 after every commit", queued, err)
	}
	all, _, err := s.ListTasks(ctx, "ws_1", store.TaskFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"alpha", "bravo", "charlie", "delta", "first", "task_3_"} {
		got, total, err := s.ListTasks(ctx, "ws_1", store.TaskFilter{Query: q}, store.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var want, ids []string
		for _, task := range all {
			if containsFold(task.Title, q) || containsFold(task.Description, q) {
				want = append(want, task.ID)
			}
		}
		for _, task := range got {
			ids = append(ids, task.ID)
		}
		slices.Sort(want)
		slices.Sort(ids)
		if !slices.Equal(ids, want) || total != len(want) {
			t.Errorf("search %q: %d tasks (total %d) %v, want %d %v", q, len(ids), total, ids, len(want), want)
		}
		if len(want) == 0 {
			t.Errorf("search %q: the test expects matches", q)
		}
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
