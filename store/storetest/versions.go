package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/example/workspace/store"
)

// The versions behind the API's ETags: 1 on create, one more with every
// update, decided by the store (not the callback), seen by the callback as
// stored, untouched by an aborted update, and the check of a conditional
// delete made in the delete's own transaction.

func testProjectVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := newProject(ws.ID, "proj_1", at(1))
	p.Version = 42 // ignored: a new record is at 1
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	checkProjectVersion(t, s, ws.ID, p.ID, "after create", 1)

	for i := 1; i <= 3; i++ {
		var seen int64
		got, err := s.UpdateProject(ctx, ws.ID, p.ID, func(cur *store.Project) error {
			seen = cur.Version
			cur.Version = 1000 // ignored: the store counts
			cur.Name = fmt.Sprintf("Renamed %d", i)
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateProject %d: %v", i, err)
		}
		if seen != int64(i) {
			t.Errorf("update %d: the callback saw version %d, want %d", i, seen, i)
		}
		if got.Version != int64(i+1) {
			t.Errorf("update %d: returned version %d, want %d", i, got.Version, i+1)
		}
		checkProjectVersion(t, s, ws.ID, p.ID, fmt.Sprintf("after update %d", i), int64(i+1))
	}

	_, err := s.UpdateProject(ctx, ws.ID, p.ID, func(cur *store.Project) error { return errAbort })
	if !errors.Is(err, errAbort) {
		t.Errorf("aborted UpdateProject: err = %v, want the callback's error", err)
	}
	checkProjectVersion(t, s, ws.ID, p.ID, "after an aborted update", 4)

	// A list shows the same version as a get.
	ps, _, err := s.ListProjects(ctx, ws.ID, store.ProjectFilter{}, store.Page{Limit: 10})
	if err != nil || len(ps) != 1 || ps[0].Version != 4 {
		t.Errorf("ListProjects = %+v, %v; want the project at version 4", ps, err)
	}
}

func testTaskVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	pa := mustProject(t, s, ws.ID, "proj_a", at(1))
	pb := mustProject(t, s, ws.ID, "proj_b", at(2))
	task := newTask(ws.ID, pa.ID, "task_1", "todo", at(3))
	task.Version = 7
	if err := s.CreateTask(ctx, task); err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	checkTaskVersion(t, s, ws.ID, task.ID, "after create", 1)

	// Every kind of change counts, a move between projects included, and a
	// write that changes no field is still a new version.
	changes := []func(*store.Task){
		func(cur *store.Task) { cur.Status = "completed" },
		func(cur *store.Task) { cur.ProjectID = pb.ID },
		func(cur *store.Task) {},
	}
	for i, change := range changes {
		var seen int64
		got, err := s.UpdateTask(ctx, ws.ID, task.ID, func(cur *store.Task) error {
			seen = cur.Version
			cur.Version = 0
			change(cur)
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateTask %d: %v", i, err)
		}
		want := int64(i + 2)
		if seen != want-1 || got.Version != want {
			t.Errorf("update %d: callback saw %d and returned %d, want %d and %d", i, seen, got.Version, want-1, want)
		}
		checkTaskVersion(t, s, ws.ID, task.ID, fmt.Sprintf("after update %d", i), want)
	}

	// A move to a missing project fails and leaves the version alone.
	_, err := s.UpdateTask(ctx, ws.ID, task.ID, func(cur *store.Task) error { cur.ProjectID = randomID; return nil })
	checkNotFound(t, "UpdateTask(move to a missing project)", err, "project")
	checkTaskVersion(t, s, ws.ID, task.ID, "after a failed move", 4)

	ts, _, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 10})
	if err != nil || len(ts) != 1 || ts[0].Version != 4 {
		t.Errorf("ListTasks = %+v, %v; want the task at version 4", ts, err)
	}
}

func checkProjectVersion(t *testing.T, s store.Store, ws, id, what string, want int64) {
	t.Helper()
	got, err := s.GetProject(t.Context(), ws, id)
	if err != nil {
		t.Fatalf("%s: GetProject: %v", what, err)
	}
	if got.Version != want {
		t.Errorf("%s: stored version %d, want %d", what, got.Version, want)
	}
}

func checkTaskVersion(t *testing.T, s store.Store, ws, id, what string, want int64) {
	t.Helper()
	got, err := s.GetTask(t.Context(), ws, id)
	if err != nil {
		t.Fatalf("%s: GetTask: %v", what, err)
	}
	if got.Version != want {
		t.Errorf("%s: stored version %d, want %d", what, got.Version, want)
	}
}

// errStale is what the conditional deletes' checks return to refuse.
var errStale = errors.New("storetest: stale version")

func testProjectDeleteIf(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	other := mustWorkspace(t, s, "ws_B")
	p := mustProject(t, s, ws.ID, "proj_1", at(1))
	task := mustTask(t, s, ws.ID, p.ID, "task_1", "todo", at(2))

	// A refusing check deletes nothing and its error comes back as is.
	var seen store.Project
	err := s.DeleteProjectIf(ctx, ws.ID, p.ID, func(cur store.Project) error { seen = cur; return errStale })
	if !errors.Is(err, errStale) {
		t.Errorf("DeleteProjectIf(refused): err = %v, want the check's error", err)
	}
	checkProject(t, "what the check saw", seen, p)
	if seen.Version != 1 {
		t.Errorf("the check saw version %d, want 1", seen.Version)
	}
	if _, err := s.GetTask(ctx, ws.ID, task.ID); err != nil {
		t.Errorf("GetTask after a refused DeleteProjectIf: %v", err)
	}
	checkProjectVersion(t, s, ws.ID, p.ID, "after a refused delete", 1)

	called := false
	check := func(store.Project) error { called = true; return nil }
	checkNotFound(t, "DeleteProjectIf(random id)", s.DeleteProjectIf(ctx, ws.ID, randomID, check), "project")
	checkNotFound(t, "DeleteProjectIf(other workspace)", s.DeleteProjectIf(ctx, other.ID, p.ID, check), "project")
	if called {
		t.Error("DeleteProjectIf called the check for a project it does not have")
	}

	if err := s.DeleteProjectIf(ctx, ws.ID, p.ID, check); err != nil {
		t.Fatalf("DeleteProjectIf: %v", err)
	}
	_, err = s.GetProject(ctx, ws.ID, p.ID)
	checkNotFound(t, "GetProject(deleted)", err, "project")
	_, err = s.GetTask(ctx, ws.ID, task.ID)
	checkNotFound(t, "GetTask(its project deleted)", err, "task")
	checkNotFound(t, "DeleteProjectIf twice", s.DeleteProjectIf(ctx, ws.ID, p.ID, check), "project")
}

func testTaskDeleteIf(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	other := mustWorkspace(t, s, "ws_B")
	p := mustProject(t, s, ws.ID, "proj_1", at(1))
	task := mustTask(t, s, ws.ID, p.ID, "task_1", "todo", at(2))
	if _, err := s.UpdateTask(ctx, ws.ID, task.ID, func(cur *store.Task) error { cur.Title = "v2"; return nil }); err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}

	var seen store.Task
	err := s.DeleteTaskIf(ctx, ws.ID, task.ID, func(cur store.Task) error { seen = cur; return errStale })
	if !errors.Is(err, errStale) {
		t.Errorf("DeleteTaskIf(refused): err = %v, want the check's error", err)
	}
	if seen.ID != task.ID || seen.Title != "v2" || seen.Version != 2 {
		t.Errorf("the check saw %+v, want the task at version 2", seen)
	}
	checkTaskVersion(t, s, ws.ID, task.ID, "after a refused delete", 2)

	called := false
	check := func(store.Task) error { called = true; return nil }
	checkNotFound(t, "DeleteTaskIf(random id)", s.DeleteTaskIf(ctx, ws.ID, randomID, check), "task")
	checkNotFound(t, "DeleteTaskIf(other workspace)", s.DeleteTaskIf(ctx, other.ID, task.ID, check), "task")
	if called {
		t.Error("DeleteTaskIf called the check for a task it does not have")
	}
	if err := s.DeleteTaskIf(ctx, ws.ID, task.ID, check); err != nil {
		t.Fatalf("DeleteTaskIf: %v", err)
	}
	_, err = s.GetTask(ctx, ws.ID, task.ID)
	checkNotFound(t, "GetTask(deleted)", err, "task")
	checkNotFound(t, "DeleteTaskIf twice", s.DeleteTaskIf(ctx, ws.ID, task.ID, check), "task")
}

// testConcurrentConditionalUpdates races updates that all expect the
// version they read first, as clients sending one If-Match do: exactly one
// wins each round, the others see the winner's version in their callback and
// refuse, and the version counts the winners only.
func testConcurrentConditionalUpdates(t *testing.T, s store.Store) {
	const rounds = 3
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(1))
	task := mustTask(t, s, ws.ID, p.ID, "task_1", "todo", at(2))
	for round := range rounds {
		expect := int64(round + 1)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				<-start
				_, errs[g] = s.UpdateTask(ctx, ws.ID, task.ID, func(cur *store.Task) error {
					if cur.Version != expect {
						return errStale
					}
					cur.Title = fmt.Sprintf("round %d by %d", round, g)
					return nil
				})
			})
		}
		close(start)
		wg.Wait()
		var won, lost int
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, errStale):
				lost++
			default:
				t.Errorf("round %d: UpdateTask: %v", round, err)
			}
		}
		if won != 1 || lost != goroutines-1 {
			t.Errorf("round %d: %d won and %d lost, want 1 and %d", round, won, lost, goroutines-1)
		}
		checkTaskVersion(t, s, ws.ID, task.ID, fmt.Sprintf("after round %d", round), expect+1)
	}

	// A conditional delete racing conditional updates of the same version:
	// exactly one of them happens.
	expect := int64(rounds + 1)
	var wg sync.WaitGroup
	start := make(chan struct{})
	outcomes := make([]error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			<-start
			refuse := func(v int64) error {
				if v != expect {
					return errStale
				}
				return nil
			}
			if g == 0 {
				outcomes[g] = s.DeleteTaskIf(ctx, ws.ID, task.ID, func(cur store.Task) error { return refuse(cur.Version) })
				return
			}
			_, outcomes[g] = s.UpdateTask(ctx, ws.ID, task.ID, func(cur *store.Task) error { return refuse(cur.Version) })
		})
	}
	close(start)
	wg.Wait()
	succeeded := slices.IndexFunc(outcomes, func(err error) bool { return err == nil })
	var n int
	for _, err := range outcomes {
		if err == nil {
			n++
		} else if !errors.Is(err, errStale) && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete against updates: %v", err)
		}
	}
	if n != 1 {
		t.Fatalf("delete against updates: %d succeeded, want 1 (%v)", n, outcomes)
	}
	_, err := s.GetTask(ctx, ws.ID, task.ID)
	if succeeded == 0 {
		checkNotFound(t, "GetTask after the delete won", err, "task")
	} else if err != nil {
		t.Errorf("GetTask after update %d won: %v", succeeded, err)
	} else {
		checkTaskVersion(t, s, ws.ID, task.ID, "after the race", expect+1)
	}
}
