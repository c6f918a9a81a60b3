package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/workspace/store"
	"golang.org/x/sync/errgroup"
)

func BenchmarkGetProject(b *testing.B) {
	ctx := context.Background()
	st, err := Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateWorkspace(ctx, store.Workspace{ID: "ws_1", Name: "w", Plan: "free", CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	if err := st.CreateProject(ctx, store.Project{ID: "proj_1", WorkspaceID: "ws_1", Name: "p", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.GetProject(ctx, "ws_1", "proj_1"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStore(b *testing.B) (*Store, context.Context, time.Time) {
	ctx := context.Background()
	st, err := Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateWorkspace(ctx, store.Workspace{ID: "ws_1", Name: "w", Plan: "free", CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	if err := st.CreateProject(ctx, store.Project{ID: "proj_1", WorkspaceID: "ws_1", Name: "p", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	return st, ctx, now
}

func BenchmarkListTasks(b *testing.B) {
	st, ctx, now := benchStore(b)
	for i := 0; i < 25; i++ {
		t := store.Task{ID: fmt.Sprintf("task_%02d", i), WorkspaceID: "ws_1", ProjectID: "proj_1", Title: "t", Status: "todo", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateTask(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := st.ListTasks(ctx, "ws_1", store.TaskFilter{}, store.Page{Limit: 20}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateTaskParallel(b *testing.B) {
	st, ctx, now := benchStore(b)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(25)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t := store.Task{ID: fmt.Sprintf("task_%d", n.Add(1)), WorkspaceID: "ws_1", ProjectID: "proj_1", Title: "t", Status: "todo", CreatedAt: now, UpdatedAt: now}
			if err := st.CreateTask(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// spreadWorkspaces is how many tenants the spread benchmarks write to, as
// the server benchmark's workspaces.
const spreadWorkspaces = 1500

// spreadStore is a fresh store of spreadWorkspaces workspaces ws_<i>, each
// with a project proj_<i> and, withTasks, a task task_<i>.
func spreadStore(b *testing.B, withTasks bool) (*Store, context.Context, time.Time) {
	b.Helper()
	ctx := context.Background()
	st, err := Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range spreadWorkspaces {
		ws, p := fmt.Sprintf("ws_%d", i), fmt.Sprintf("proj_%d", i)
		if err := st.CreateWorkspace(ctx, store.Workspace{ID: ws, Name: "w", Plan: "enterprise", CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
		if err := st.CreateProject(ctx, store.Project{ID: p, WorkspaceID: ws, Name: "p", CreatedAt: now, UpdatedAt: now}); err != nil {
			b.Fatal(err)
		}
		if withTasks {
			if err := st.CreateTask(ctx, store.Task{ID: fmt.Sprintf("task_%d", i), WorkspaceID: ws, ProjectID: p,
				Title: "Benchmark task", Status: "todo", CreatedAt: now, UpdatedAt: now}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return st, ctx, now
}

// BenchmarkCreateTaskSpread is the load tool's create-task at the store:
// creates spread over many workspaces (each write's counter rows and index
// entries on pages of their own, as under the server benchmark's 1,500
// tenants), with the load tool's title, from many writers at once.
func BenchmarkCreateTaskSpread(b *testing.B) {
	st, ctx, now := spreadStore(b, false)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(25)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			w := (i * 7919) % spreadWorkspaces
			t := store.Task{ID: fmt.Sprintf("task_%d", i), WorkspaceID: fmt.Sprintf("ws_%d", w), ProjectID: fmt.Sprintf("proj_%d", w),
				Title: "Benchmark task", Status: "todo", CreatedAt: now.Add(time.Duration(i)), UpdatedAt: now.Add(time.Duration(i))}
			if err := st.CreateTask(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreateTasksBatch: batches of 100 tasks (CreateTasks) from 8
// writers at once, in one workspace; ns/op is per batch.
func BenchmarkCreateTasksBatch(b *testing.B) {
	st, ctx, now := benchStore(b)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tasks := make([]store.Task, 100)
			for i := range tasks {
				j := n.Add(1)
				tasks[i] = store.Task{ID: fmt.Sprintf("task_%d", j), WorkspaceID: "ws_1", ProjectID: "proj_1", Title: "Benchmark task", Status: "todo",
					CreatedAt: now.Add(time.Duration(j)), UpdatedAt: now.Add(time.Duration(j))}
			}
			if err := st.CreateTasks(ctx, tasks); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpdateTaskSpread is the load tool's update-task at the store: a
// PUT that sets a status the task already has, over 1,500 workspaces' tasks,
// from many writers at once.
func BenchmarkUpdateTaskSpread(b *testing.B) {
	st, ctx, now := spreadStore(b, true)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(25)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			w := (i * 7919) % spreadWorkspaces
			at := now.Add(time.Duration(i) * time.Microsecond)
			if _, err := st.UpdateTask(ctx, fmt.Sprintf("ws_%d", w), fmt.Sprintf("task_%d", w), func(t *store.Task) error {
				if t.Status != "completed" {
					t.Status, t.CompletedAt = "completed", &at
				}
				t.UpdatedAt = at
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpdateTaskParallel updates 1,000 tasks round the clock, each
// update changing the status and updated_at, as the API's update-task does
// (and so, with the event log, appending a task.updated with a Previous of
// three fields).
func BenchmarkUpdateTaskParallel(b *testing.B) {
	st, ctx, now := benchStore(b)
	const tasks = 1000
	for i := range tasks {
		t := store.Task{ID: fmt.Sprintf("task_u%d", i), WorkspaceID: "ws_1", ProjectID: "proj_1", Title: "t", Status: "todo", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateTask(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(25)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := st.UpdateTask(ctx, "ws_1", fmt.Sprintf("task_u%d", i%tasks), func(t *store.Task) error {
				t.Status = []string{"todo", "done"}[i%2]
				t.UpdatedAt = now.Add(time.Duration(i) * time.Microsecond)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpdateTaskSpread20 is the load tool's update-task at the store:
// updates spread over 1,500 workspaces of 20 tasks each (so each write
// touches pages of its own, in the tasks table and in the event log), each
// setting the status the task already has and a new updated_at.
func BenchmarkUpdateTaskSpread20(b *testing.B) {
	st, ctx, now := benchStore(b)
	const workspaces, tasks = 1500, 20
	// Seeded by 50 writers at once, so that the creates share commits.
	var g errgroup.Group
	g.SetLimit(50)
	for w := range workspaces {
		g.Go(func() error {
			ws := fmt.Sprintf("ws_s%d", w)
			if err := st.CreateWorkspace(ctx, store.Workspace{ID: ws, Name: "w", Plan: "enterprise", CreatedAt: now}); err != nil {
				return err
			}
			if err := st.CreateProject(ctx, store.Project{ID: "proj_" + ws, WorkspaceID: ws, Name: "p", CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			for i := range tasks {
				t := store.Task{ID: fmt.Sprintf("task_%s_%d", ws, i), WorkspaceID: ws, ProjectID: "proj_" + ws, Title: "t", Status: "completed", CreatedAt: now, UpdatedAt: now}
				if err := st.CreateTask(ctx, t); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(25)
	cpu := processCPU(b)
	b.ResetTimer()
	defer func() { b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1) * 7919 // a prime: consecutive updates far apart
			ws := fmt.Sprintf("ws_s%d", i%workspaces)
			_, err := st.UpdateTask(ctx, ws, fmt.Sprintf("task_%s_%d", ws, (i/workspaces)%tasks), func(t *store.Task) error {
				t.Status = "completed"
				t.UpdatedAt = now.Add(time.Duration(i) * time.Microsecond)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
