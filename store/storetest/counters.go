package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/example/workspace/store"
)

// statuses are those the counter cases use; "" is no status filter.
var statuses = []string{"todo", "in_progress", "completed"}

// taskModel is what the suite expects a workspace to hold: its tasks by id.
type taskModel map[string]store.Task

// checkTotals compares the total of ListTasks, for every combination of the
// filters whose totals come from counters (none, each project, each status,
// each project and status), and the totals of ListProjects and ListAPIKeys,
// with what the model says.
func checkTotals(t *testing.T, s store.Store, what, wsID string, projects []string, m taskModel, keys int) {
	t.Helper()
	ctx := t.Context()
	for _, p := range append([]string{""}, projects...) {
		for _, st := range append([]string{""}, statuses...) {
			want := 0
			for _, task := range m {
				if (p == "" || task.ProjectID == p) && (st == "" || task.Status == st) {
					want++
				}
			}
			f := store.TaskFilter{ProjectID: p, Status: st}
			_, total, err := s.ListTasks(ctx, wsID, f, store.Page{Limit: 1})
			if err != nil {
				t.Fatalf("%s: ListTasks(%+v): %v", what, f, err)
			}
			if total != want {
				t.Errorf("%s: ListTasks(%+v) total = %d, want %d", what, f, total, want)
			}
		}
	}
	if _, total, err := s.ListProjects(ctx, wsID, store.ProjectFilter{}, store.Page{Limit: 1}); err != nil || total != len(projects) {
		t.Errorf("%s: ListProjects total = %d, %v; want %d", what, total, err, len(projects))
	}
	if _, total, err := s.ListAPIKeys(ctx, wsID, store.Page{Limit: 1}); err != nil || total != keys {
		t.Errorf("%s: ListAPIKeys total = %d, %v; want %d", what, total, err, keys)
	}
}

// testCountersTotals changes a workspace one write at a time, failed writes
// included, and checks every counter-backed total after each: creates,
// moves, status changes, other edits, aborted updates, deletes and a
// project's cascade. A second workspace's records must not count.
func testCountersTotals(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	other := mustWorkspace(t, s, "ws_B")
	checkTotals(t, s, "empty workspace", ws.ID, nil, taskModel{}, 0)

	projects := []string{"proj_A", "proj_b", "proj_Z"} // bytewise order differs from a case-blind one
	for i, p := range projects {
		mustProject(t, s, ws.ID, p, at(i))
	}
	mustProject(t, s, other.ID, "proj_other", at(9))
	mustKey(t, s, ws.ID, "key_A1", at(0))
	mustKey(t, s, ws.ID, "key_A2", at(1))
	mustKey(t, s, other.ID, "key_B1", at(2))
	m := taskModel{}
	for i := range 12 {
		task := mustTask(t, s, ws.ID, projects[i%3], fmt.Sprintf("task_%02d", i), statuses[i%len(statuses)], at(100+i))
		m[task.ID] = task
	}
	mustTask(t, s, other.ID, "proj_other", "task_other", "todo", at(200))
	// The store takes an empty status (the API never sends one): it counts
	// in the workspace's and its project's totals, and in no status's.
	m["task_nostatus"] = mustTask(t, s, ws.ID, "proj_A", "task_nostatus", "", at(150))
	checkTotals(t, s, "after creates", ws.ID, projects, m, 2)

	// Failed creates count nothing.
	err := s.CreateTask(ctx, newTask(ws.ID, "proj_A", "task_00", "todo", at(300)))
	checkConflict(t, "CreateTask(taken id)", err)
	err = s.CreateTask(ctx, newTask(ws.ID, "proj_other", "task_x", "todo", at(300)))
	checkNotFound(t, "CreateTask(foreign project)", err, "project")
	checkConflict(t, "CreateProject(taken id)", s.CreateProject(ctx, newProject(ws.ID, "proj_A", at(0))))
	checkConflict(t, "CreateAPIKey(taken id)", s.CreateAPIKey(ctx, newKey(ws.ID, "key_A1", at(0))))
	checkTotals(t, s, "after failed creates", ws.ID, projects, m, 2)

	update := func(id string, f func(*store.Task)) {
		t.Helper()
		got, err := s.UpdateTask(ctx, ws.ID, id, func(cur *store.Task) error { f(cur); return nil })
		if err != nil {
			t.Fatalf("UpdateTask(%s): %v", id, err)
		}
		m[id] = got
	}
	update("task_00", func(cur *store.Task) { cur.ProjectID = "proj_Z" })                     // move
	update("task_01", func(cur *store.Task) { cur.Status = "completed" })                     // status
	update("task_02", func(cur *store.Task) { cur.ProjectID, cur.Status = "proj_A", "todo" }) // both
	update("task_03", func(cur *store.Task) { cur.Title = "Renamed" })                        // neither
	update("task_04", func(cur *store.Task) { cur.ProjectID = "proj_b" })                     // to where it is
	update("task_05", func(cur *store.Task) { cur.ProjectID, cur.Status = "proj_b", "todo" }) // twice
	update("task_05", func(cur *store.Task) { cur.ProjectID, cur.Status = "proj_A", "in_progress" })
	checkTotals(t, s, "after updates", ws.ID, projects, m, 2)

	// Failed updates count nothing.
	_, err = s.UpdateTask(ctx, ws.ID, "task_06", func(cur *store.Task) error {
		cur.ProjectID, cur.Status = "proj_Z", "completed"
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("aborted UpdateTask: err = %v, want errAbort", err)
	}
	_, err = s.UpdateTask(ctx, ws.ID, "task_06", func(cur *store.Task) error {
		cur.ProjectID, cur.Status = "proj_other", "completed"
		return nil
	})
	checkNotFound(t, "UpdateTask(to a foreign project)", err, "project")
	_, err = s.UpdateTask(ctx, ws.ID, "task_other", func(cur *store.Task) error { cur.Status = "done"; return nil })
	checkNotFound(t, "UpdateTask(foreign task)", err, "task")
	checkTotals(t, s, "after failed updates", ws.ID, projects, m, 2)

	for _, id := range []string{"task_07", "task_08"} {
		if err := s.DeleteTask(ctx, ws.ID, id); err != nil {
			t.Fatalf("DeleteTask(%s): %v", id, err)
		}
		delete(m, id)
	}
	checkNotFound(t, "DeleteTask(deleted)", s.DeleteTask(ctx, ws.ID, "task_07"), "task")
	checkNotFound(t, "DeleteTask(foreign)", s.DeleteTask(ctx, ws.ID, "task_other"), "task")
	checkTotals(t, s, "after deletes", ws.ID, projects, m, 2)

	// The cascade: proj_b's tasks leave every total.
	if err := s.DeleteProject(ctx, ws.ID, "proj_b"); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	for id, task := range m {
		if task.ProjectID == "proj_b" {
			delete(m, id)
		}
	}
	projects = []string{"proj_A", "proj_Z"}
	checkNotFound(t, "DeleteProject(deleted)", s.DeleteProject(ctx, ws.ID, "proj_b"), "project")
	checkTotals(t, s, "after the project's cascade", ws.ID, projects, m, 2)

	// A project created again under the deleted one's id starts from zero.
	mustProject(t, s, ws.ID, "proj_b", at(50))
	projects = append(projects, "proj_b")
	task := mustTask(t, s, ws.ID, "proj_b", "task_new", "todo", at(400))
	m[task.ID] = task
	checkTotals(t, s, "after the project came back", ws.ID, projects, m, 2)

	// The other workspace kept its own.
	checkTotals(t, s, "the other workspace", other.ID, []string{"proj_other"},
		taskModel{"task_other": newTask(other.ID, "proj_other", "task_other", "todo", at(200))}, 1)
}

// testCountersConcurrent runs creates, moves between projects, status
// changes, deletes and project deletions (cascades) at once, then compares
// every counter-backed total with the number of records that paging through
// the list finds (the count(*) the counters stand for), and with the page
// sizes that readers saw during the writes. A backend whose counter updates
// deadlock fails here with the database's error.
func testCountersConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	const stable, doomed = 3, 3
	var projects []string
	for i := range stable + doomed {
		projects = append(projects, mustProject(t, s, ws.ID, fmt.Sprintf("proj_%c%d", "aZbYcX"[i], i), at(i)).ID)
	}
	// Errors a writer may meet because a project was deleted under it.
	gone := func(err error) bool { return errors.Is(err, store.ErrNotFound) }

	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			id := func(i int) string { return fmt.Sprintf("task_g%dn%02d", g, i) }
			for i := range opsEach {
				p := projects[(g+i)%len(projects)]
				err := s.CreateTask(ctx, newTask(ws.ID, p, id(i), statuses[(g+i)%3], at(g*100+i)))
				if err != nil && !gone(err) {
					t.Errorf("CreateTask(%s): %v", id(i), err)
					return
				}
				if i%2 == 1 {
					// Alternate directions, so that two writers lock the same
					// pair of projects' counters in opposite move orders.
					to := projects[(g+2*i)%len(projects)]
					_, err := s.UpdateTask(ctx, ws.ID, id(i-1), func(cur *store.Task) error {
						cur.ProjectID = to
						cur.Status = statuses[(g+i+1)%3]
						return nil
					})
					if err != nil && !gone(err) {
						t.Errorf("UpdateTask(%s): %v", id(i-1), err)
						return
					}
				}
				if i%5 == 4 {
					if err := s.DeleteTask(ctx, ws.ID, id(i-3)); err != nil && !gone(err) {
						t.Errorf("DeleteTask(%s): %v", id(i-3), err)
						return
					}
				}
			}
		})
	}
	// The doomed projects go while the writers run, one at a time.
	wg.Go(func() {
		<-start
		for _, p := range projects[stable:] {
			for range 2 * opsEach {
				if _, _, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 1}); err != nil {
					t.Errorf("ListTasks: %v", err)
					return
				}
			}
			if err := s.DeleteProject(ctx, ws.ID, p); err != nil {
				t.Errorf("DeleteProject(%s): %v", p, err)
				return
			}
		}
	})
	// A page and its total come from one snapshot.
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for r := 0; ; r++ {
			f := store.TaskFilter{Status: statuses[r%3]}
			if r%2 == 1 {
				f.ProjectID = projects[r%stable]
			}
			got, total, err := s.ListTasks(ctx, ws.ID, f, store.Page{Limit: goroutines * opsEach})
			if err != nil {
				t.Errorf("ListTasks(%+v) during writes: %v", f, err)
				return
			}
			if len(got) != total {
				t.Errorf("ListTasks(%+v) during writes: %d tasks but total %d", f, len(got), total)
				return
			}
			select {
			case <-done:
				return
			default:
			}
		}
	})
	close(start)
	wg.Wait()
	close(done)
	readers.Wait()
	if t.Failed() {
		return
	}

	for _, p := range projects[stable:] {
		_, _, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{ProjectID: p}, store.Page{Limit: 1})
		checkNotFound(t, "ListTasks(deleted project "+p+")", err, "project")
	}
	// Enumerate the workspace 100 at a time: that is the truth.
	m := taskModel{}
	for offset := 0; ; offset += 100 {
		got, _, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 100, Offset: offset})
		if err != nil {
			t.Fatalf("ListTasks: %v", err)
		}
		for _, task := range got {
			if m[task.ID].ID != "" {
				t.Fatalf("ListTasks: %s on two pages", task.ID)
			}
			m[task.ID] = task
		}
		if len(got) < 100 {
			break
		}
	}
	if len(m) == 0 {
		t.Fatal("no task survived: the case tests nothing")
	}
	for _, task := range m {
		found := false
		for _, p := range projects[:stable] {
			found = found || task.ProjectID == p
		}
		if !found {
			t.Errorf("task %s outlived its project %s", task.ID, task.ProjectID)
		}
	}
	checkTotals(t, s, "after the concurrent writes", ws.ID, projects[:stable], m, 0)
	// And each filtered list, enumerated, holds as many as its total says.
	for _, p := range projects[:stable] {
		for _, st := range statuses {
			f := store.TaskFilter{ProjectID: p, Status: st}
			n, total := 0, -1
			for offset := 0; ; offset += 100 {
				got, tot, err := s.ListTasks(ctx, ws.ID, f, store.Page{Limit: 100, Offset: offset})
				if err != nil {
					t.Fatalf("ListTasks(%+v): %v", f, err)
				}
				n, total = n+len(got), tot
				if len(got) < 100 {
					break
				}
			}
			if n != total {
				t.Errorf("ListTasks(%+v): %d records, total %d", f, n, total)
			}
		}
	}
}

// CheckTotals checks, for a backend's own tests (a migration's backfill),
// that every counter-backed total of the workspace agrees with its projects,
// its tasks (only ProjectID and Status matter, among "todo", "in_progress"
// and "completed") and its number of API keys.
func CheckTotals(t *testing.T, s store.Store, what, wsID string, projects []string, tasks []store.Task, keys int) {
	t.Helper()
	m := taskModel{}
	for _, task := range tasks {
		m[task.ID] = task
	}
	checkTotals(t, s, what, wsID, projects, m, keys)
}

// testCountersOtherWrites checks the totals after the writes that came with
// batches and preconditions — a batch create (and a refused one), a
// conditional task delete, a conditional project delete — and the total of a
// list of statuses, which is a sum of counter rows.
func testCountersOtherWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	projects := []string{"proj_A", "proj_B"}
	for i, p := range projects {
		mustProject(t, s, ws.ID, p, at(i))
	}
	m := taskModel{}
	var batch []store.Task
	for i := range 9 {
		batch = append(batch, newTask(ws.ID, projects[i%2], fmt.Sprintf("task_%02d", i), statuses[i%len(statuses)], at(10+i)))
	}
	if err := s.CreateTasks(ctx, batch); err != nil {
		t.Fatalf("CreateTasks: %v", err)
	}
	for _, task := range batch {
		m[task.ID] = task
	}
	checkTotals(t, s, "after a batch", ws.ID, projects, m, 0)

	refused := []store.Task{newTask(ws.ID, "proj_A", "task_x1", "todo", at(30)), newTask(ws.ID, "proj_missing", "task_x2", "todo", at(31))}
	if err := s.CreateTasks(ctx, refused); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateTasks(a missing project) = %v, want NotFound", err)
	}
	checkTotals(t, s, "after a refused batch", ws.ID, projects, m, 0)

	if err := s.DeleteTaskIf(ctx, ws.ID, "task_00", func(store.Task) error { return nil }); err != nil {
		t.Fatalf("DeleteTaskIf: %v", err)
	}
	delete(m, "task_00")
	refusal := errors.New("precondition")
	if err := s.DeleteTaskIf(ctx, ws.ID, "task_01", func(store.Task) error { return refusal }); !errors.Is(err, refusal) {
		t.Fatalf("DeleteTaskIf(refused) = %v", err)
	}
	checkTotals(t, s, "after conditional task deletes", ws.ID, projects, m, 0)

	for _, list := range [][]string{{"todo", "completed"}, {"todo", "in_progress", "completed"}, {"in_progress"}} {
		want := 0
		for _, task := range m {
			for _, st := range list {
				if task.Status == st {
					want++
				}
			}
		}
		f := store.TaskFilter{Statuses: list}
		if _, total, err := s.ListTasks(ctx, ws.ID, f, store.Page{Limit: 1}); err != nil || total != want {
			t.Errorf("ListTasks(%+v) total = %d, %v; want %d", f, total, err, want)
		}
	}

	if err := s.DeleteProjectIf(ctx, ws.ID, "proj_B", func(store.Project) error { return nil }); err != nil {
		t.Fatalf("DeleteProjectIf: %v", err)
	}
	for id, task := range m {
		if task.ProjectID == "proj_B" {
			delete(m, id)
		}
	}
	checkTotals(t, s, "after a conditional project delete", ws.ID, projects[:1], m, 0)
}
