package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/example/workspace/store"
)

// checkBatchItem checks that err is a *store.BatchItemError for item index
// whose own error is what check accepts.
func checkBatchItem(t *testing.T, what string, err error, index int, check func(*testing.T, string, error)) {
	t.Helper()
	var item *store.BatchItemError
	if !errors.As(err, &item) {
		t.Errorf("%s: err = %v (%T), want a *store.BatchItemError for item %d", what, err, err, index)
		return
	}
	if item.Index != index {
		t.Errorf("%s: the error names item %d, want %d: %v", what, item.Index, index, err)
	}
	check(t, what, item.Err)
	// Callers that do not care which item failed see the item's error.
	check(t, what+" (through the BatchItemError)", err)
}

// checkNoTasks checks that none of ids is stored and that the workspace holds
// exactly total tasks.
func checkNoTasks(t *testing.T, s store.Store, what, wsID string, ids []string, total int) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.GetTask(t.Context(), wsID, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: GetTask(%s) = %v, want NotFound: a refused batch stored an item", what, id, err)
		}
	}
	if _, n, err := s.ListTasks(t.Context(), wsID, store.TaskFilter{}, store.Page{Limit: 1}); err != nil || n != total {
		t.Errorf("%s: ListTasks total %d, err %v; want %d, nil", what, n, err, total)
	}
}

// testTaskCreateBatch: every task of a batch is stored as CreateTask would
// store it, in several projects, and the list shows them in their own
// created_at order, whatever the order of the batch.
func testTaskCreateBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p1 := mustProject(t, s, ws.ID, "proj_1", at(0))
	p2 := mustProject(t, s, ws.ID, "proj_2", at(0))

	if err := s.CreateTasks(ctx, nil); err != nil {
		t.Errorf("CreateTasks(no task): %v, want nil", err)
	}
	checkNoTasks(t, s, "after an empty batch", ws.ID, nil, 0)

	var batch []store.Task
	for i := range 7 {
		task := newTask(ws.ID, []string{p1.ID, p2.ID}[i%2], fmt.Sprintf("task_%02d", i), "todo", at(10+i))
		switch i % 3 {
		case 1:
			task.DueAt = nil
		case 2:
			task.Status, task.CompletedAt = "done", ptr(at(100+i))
		}
		batch = append(batch, task)
	}
	// Ties and an order that is not the list's: the store keeps each task's
	// own created_at, never the batch's position.
	batch[5].CreatedAt = batch[2].CreatedAt
	batch[0], batch[6] = batch[6], batch[0]
	in := make([]store.Task, len(batch))
	copy(in, batch)
	if err := s.CreateTasks(ctx, in); err != nil {
		t.Fatalf("CreateTasks: %v", err)
	}
	for _, want := range batch {
		got, err := s.GetTask(ctx, ws.ID, want.ID)
		if err != nil {
			t.Fatalf("GetTask(%s): %v", want.ID, err)
		}
		checkTask(t, "GetTask("+want.ID+") after CreateTasks", got, want)
	}
	got, total, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 100})
	if err != nil || total != len(batch) {
		t.Fatalf("ListTasks: total %d, err %v; want %d", total, err, len(batch))
	}
	checkRecords(t, "ListTasks after CreateTasks", got, newestFirst(batch, taskKey), taskID, checkTask)

	// A second batch adds to the first.
	more := []store.Task{newTask(ws.ID, p2.ID, "task_more", "todo", at(50))}
	if err := s.CreateTasks(ctx, more); err != nil {
		t.Fatalf("CreateTasks(one more): %v", err)
	}
	got, _, err = s.ListTasks(ctx, ws.ID, store.TaskFilter{ProjectID: p2.ID}, store.Page{Limit: 100})
	if err != nil {
		t.Fatalf("ListTasks(p2): %v", err)
	}
	var wantP2 []store.Task
	for _, task := range append(batch, more...) {
		if task.ProjectID == p2.ID {
			wantP2 = append(wantP2, task)
		}
	}
	checkRecords(t, "ListTasks(p2) after two batches", got, newestFirst(wantP2, taskKey), taskID, checkTask)
}

// testTaskCreateBatchAllOrNothing: one bad item anywhere — a project of
// another workspace, a random project, an id taken by a stored task or by an
// earlier item — stores no item of the batch, and the error names the first
// bad item with CreateTask's error for it.
func testTaskCreateBatchAllOrNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	pa := mustProject(t, s, a.ID, "proj_a", at(0))
	pb := mustProject(t, s, b.ID, "proj_b", at(0))
	stored := mustTask(t, s, a.ID, pa.ID, "task_stored", "todo", at(1))

	batch := func(name string) []store.Task {
		var out []store.Task
		for i := range 5 {
			out = append(out, newTask(a.ID, pa.ID, fmt.Sprintf("task_%s%d", name, i), "todo", at(10+i)))
		}
		return out
	}
	ids := func(tasks []store.Task) []string { return mapIDs(tasks, taskID) }
	notFoundProject := func(t *testing.T, what string, err error) { t.Helper(); checkNotFound(t, what, err, "project") }
	conflict := func(t *testing.T, what string, err error) { t.Helper(); checkConflict(t, what, err) }

	cases := []struct {
		name  string
		index int
		spoil func([]store.Task)
		check func(*testing.T, string, error)
	}{
		{"foreign project in the middle", 2, func(ts []store.Task) { ts[2].ProjectID = pb.ID }, notFoundProject},
		{"random project last", 4, func(ts []store.Task) { ts[4].ProjectID = randomID }, notFoundProject},
		{"no project first", 0, func(ts []store.Task) { ts[0].ProjectID = "" }, notFoundProject},
		{"two bad projects", 1, func(ts []store.Task) { ts[1].ProjectID, ts[3].ProjectID = pb.ID, randomID }, notFoundProject},
		{"id of a stored task", 3, func(ts []store.Task) { ts[3].ID = stored.ID }, conflict},
		{"id of a task of another workspace", 1, func(ts []store.Task) { ts[1].ID = "task_of_b" }, conflict},
		{"id twice in the batch", 3, func(ts []store.Task) { ts[3].ID = ts[1].ID }, conflict},
	}
	mustTask(t, s, b.ID, pb.ID, "task_of_b", "todo", at(1))
	for i, tc := range cases {
		tasks := batch(fmt.Sprintf("c%d_", i))
		tc.spoil(tasks)
		what := "CreateTasks(" + tc.name + ")"
		checkBatchItem(t, what, s.CreateTasks(ctx, tasks), tc.index, tc.check)
		var fresh []string
		for _, id := range ids(tasks) {
			if id != stored.ID && id != "task_of_b" {
				fresh = append(fresh, id)
			}
		}
		checkNoTasks(t, s, what, a.ID, fresh, 1)
	}
	got, err := s.GetTask(ctx, a.ID, stored.ID)
	if err != nil {
		t.Fatalf("GetTask(stored): %v", err)
	}
	checkTask(t, "the stored task after the refused batches", got, stored)
	checkNoTasks(t, s, "workspace B after A's refused batches", b.ID, nil, 1)

	// The same batch, repaired, is stored whole.
	tasks := batch("ok")
	if err := s.CreateTasks(ctx, tasks); err != nil {
		t.Fatalf("CreateTasks(repaired): %v", err)
	}
	list, total, err := s.ListTasks(ctx, a.ID, store.TaskFilter{}, store.Page{Limit: 100})
	if err != nil || total != 6 {
		t.Fatalf("ListTasks after the repaired batch: total %d, err %v; want 6", total, err)
	}
	checkRecords(t, "ListTasks after the repaired batch", list, newestFirst(append(tasks, stored), taskKey), taskID, checkTask)
}

// testConcurrentBatches runs batches that succeed and batches that fail at
// once, beside single creates: a failing batch takes nothing of the others
// along (SQLite groups concurrent writes into one commit), and every
// acknowledged batch is there whole.
func testConcurrentBatches(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(0))
	const batchSize, rounds = 10, 5
	var wg sync.WaitGroup
	start := make(chan struct{})
	var mu sync.Mutex
	var want []store.Task
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for r := range rounds {
				var tasks []store.Task
				for i := range batchSize {
					tasks = append(tasks, newTask(ws.ID, p.ID, fmt.Sprintf("task_g%dr%di%d", g, r, i), "todo", at(g*1000+r*100+i)))
				}
				bad := g%2 == 1
				if bad {
					tasks[batchSize/2].ProjectID = randomID
				}
				err := s.CreateTasks(ctx, tasks)
				switch {
				case bad:
					var item *store.BatchItemError
					if !errors.As(err, &item) || item.Index != batchSize/2 || !errors.Is(err, store.ErrNotFound) {
						t.Errorf("CreateTasks(g%d r%d, bad item %d): %v", g, r, batchSize/2, err)
					}
				case err != nil:
					t.Errorf("CreateTasks(g%d r%d): %v", g, r, err)
				default:
					mu.Lock()
					want = append(want, tasks...)
					mu.Unlock()
				}
				single := newTask(ws.ID, p.ID, fmt.Sprintf("task_g%dr%d_single", g, r), "todo", at(g*1000+r*100+50))
				if err := s.CreateTask(ctx, single); err != nil {
					t.Errorf("CreateTask(%s): %v", single.ID, err)
					continue
				}
				mu.Lock()
				want = append(want, single)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	got, total, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 100, Offset: 0})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if total != len(want) {
		t.Fatalf("ListTasks: total %d, want %d (the acknowledged tasks)", total, len(want))
	}
	all := got
	for off := len(got); off < total; off += 100 {
		page, _, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 100, Offset: off})
		if err != nil {
			t.Fatalf("ListTasks(offset %d): %v", off, err)
		}
		all = append(all, page...)
	}
	checkRecords(t, "every acknowledged task", all, newestFirst(want, taskKey), taskID, checkTask)
}
