package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/example/workspace/store"
)

func testTaskCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(0))

	dueOnly := newTask(ws.ID, p.ID, "task_due", "todo", at(1))
	completedOnly := newTask(ws.ID, p.ID, "task_completed", "done", at(2))
	completedOnly.DueAt, completedOnly.CompletedAt = nil, ptr(at(3).UTC())
	both := newTask(ws.ID, p.ID, "task_both", "done", at(4))
	both.CompletedAt = ptr(at(5))
	neither := store.Task{ID: "task_neither", WorkspaceID: ws.ID, ProjectID: p.ID, CreatedAt: at(6), UpdatedAt: at(6)}
	tasks := []store.Task{dueOnly, completedOnly, both, neither}
	for _, task := range tasks {
		in := task
		if in.DueAt != nil {
			in.DueAt = ptr(*in.DueAt)
		}
		if err := s.CreateTask(ctx, in); err != nil {
			t.Fatalf("CreateTask(%s): %v", task.ID, err)
		}
		// What the store keeps must not change with the caller's values.
		if in.DueAt != nil {
			*in.DueAt = at(777)
		}
	}
	for _, want := range tasks {
		got, err := s.GetTask(ctx, ws.ID, want.ID)
		if err != nil {
			t.Fatalf("GetTask(%s): %v", want.ID, err)
		}
		checkTask(t, "GetTask("+want.ID+")", got, want)
	}
	_, err := s.GetTask(ctx, ws.ID, randomID)
	checkNotFound(t, "GetTask(random id)", err, "task")
}

func testTaskCreateConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	pa := mustProject(t, s, a.ID, "proj_a", at(0))
	pb := mustProject(t, s, b.ID, "proj_b", at(0))
	orig := mustTask(t, s, a.ID, pa.ID, "task_1", "todo", at(1))

	dup := newTask(a.ID, pa.ID, orig.ID, "done", at(2))
	checkConflict(t, "CreateTask(duplicate id)", s.CreateTask(ctx, dup))
	dup = newTask(b.ID, pb.ID, orig.ID, "done", at(2))
	checkConflict(t, "CreateTask(id taken in another workspace)", s.CreateTask(ctx, dup))

	got, err := s.GetTask(ctx, a.ID, orig.ID)
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	checkTask(t, "task after the refused duplicates", got, orig)
	_, err = s.GetTask(ctx, b.ID, orig.ID)
	checkNotFound(t, "GetTask in the other workspace", err, "task")
	if _, total, err := s.ListTasks(ctx, b.ID, store.TaskFilter{}, store.Page{Limit: 10}); err != nil || total != 0 {
		t.Errorf("ListTasks(other workspace): total %d, err %v; want 0, nil", total, err)
	}
}

func testTaskCreateProjectNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	mustProject(t, s, a.ID, "proj_a", at(0))
	pb := mustProject(t, s, b.ID, "proj_b", at(0))

	foreign := s.CreateTask(ctx, newTask(a.ID, pb.ID, "task_foreign", "todo", at(1)))
	random := s.CreateTask(ctx, newTask(a.ID, randomID, "task_random", "todo", at(1)))
	checkSameError(t, "CreateTask(project)", foreign, random, "project")
	empty := s.CreateTask(ctx, newTask(a.ID, "", "task_empty", "todo", at(1)))
	checkNotFound(t, "CreateTask(no project)", empty, "project")

	for _, ws := range []string{a.ID, b.ID} {
		for _, id := range []string{"task_foreign", "task_random", "task_empty"} {
			_, err := s.GetTask(ctx, ws, id)
			checkNotFound(t, fmt.Sprintf("GetTask(%s, %s) after the refused create", ws, id), err, "task")
		}
		if _, total, err := s.ListTasks(ctx, ws, store.TaskFilter{}, store.Page{Limit: 10}); err != nil || total != 0 {
			t.Errorf("ListTasks(%s): total %d, err %v; want 0, nil", ws, total, err)
		}
	}
}

func testTaskUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p1 := mustProject(t, s, ws.ID, "proj_1", at(0))
	p2 := mustProject(t, s, ws.ID, "proj_2", at(0))
	task := mustTask(t, s, ws.ID, p1.ID, "task_1", "todo", at(1))
	other := mustTask(t, s, ws.ID, p1.ID, "task_2", "todo", at(2))

	changes := []func(*store.Task){
		func(t *store.Task) {
			t.ProjectID = p2.ID
			t.Title = "Moved"
			t.Description = "Now in project 2"
			t.Status = "doing"
			t.DueAt = nil
			t.UpdatedAt = at(100)
		},
		func(t *store.Task) {
			t.Status = "done"
			t.DueAt = ptr(at(200).UTC())
			t.CompletedAt = ptr(at(201))
			t.Description = ""
			t.UpdatedAt = at(202)
		},
		func(t *store.Task) {
			t.ProjectID = p1.ID
			t.Status = "todo"
			t.CompletedAt = nil
			t.UpdatedAt = at(300)
		},
	}
	want := task
	for i, change := range changes {
		calls := 0
		got, err := s.UpdateTask(ctx, ws.ID, task.ID, func(cur *store.Task) error {
			calls++
			checkTask(t, fmt.Sprintf("update %d: task seen by the callback", i), *cur, want)
			change(cur)
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateTask %d: %v", i, err)
		}
		if calls != 1 {
			t.Errorf("UpdateTask %d called the callback %d times, want 1", i, calls)
		}
		change(&want)
		checkTask(t, fmt.Sprintf("update %d: returned task", i), got, want)
		stored, err := s.GetTask(ctx, ws.ID, task.ID)
		if err != nil {
			t.Fatalf("GetTask: %v", err)
		}
		checkTask(t, fmt.Sprintf("update %d: stored task", i), stored, want)

		// The project filter follows the move.
		for _, p := range []store.Project{p1, p2} {
			got, _, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{ProjectID: p.ID}, store.Page{Limit: 10})
			if err != nil {
				t.Fatalf("ListTasks: %v", err)
			}
			listed := slices.Contains(mapIDs(got, taskID), task.ID)
			if listed != (p.ID == want.ProjectID) {
				t.Errorf("update %d: task listed under %s: %v, want %v", i, p.ID, listed, !listed)
			}
		}
	}
	stored, err := s.GetTask(ctx, ws.ID, other.ID)
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	checkTask(t, "the task not updated", stored, other)

	called := false
	_, err = s.UpdateTask(ctx, ws.ID, randomID, func(*store.Task) error { called = true; return nil })
	checkNotFound(t, "UpdateTask(random id)", err, "task")
	if called {
		t.Error("UpdateTask(random id) called the callback")
	}
}

func testTaskUpdateKeepsIdentity(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	p := mustProject(t, s, a.ID, "proj_1", at(0))
	mustProject(t, s, b.ID, "proj_b", at(0))
	task := mustTask(t, s, a.ID, p.ID, "task_1", "todo", at(1))

	got, err := s.UpdateTask(ctx, a.ID, task.ID, func(cur *store.Task) error {
		cur.ID = "task_hijack"
		cur.WorkspaceID = b.ID
		cur.CreatedAt = at(500)
		cur.Title = "Renamed"
		cur.UpdatedAt = at(600)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	want := task
	want.Title, want.UpdatedAt = "Renamed", at(600)
	checkTask(t, "returned task", got, want)
	stored, err := s.GetTask(ctx, a.ID, task.ID)
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	checkTask(t, "stored task", stored, want)
	for _, probe := range []struct{ ws, id string }{{a.ID, "task_hijack"}, {b.ID, "task_hijack"}, {b.ID, task.ID}} {
		_, err := s.GetTask(ctx, probe.ws, probe.id)
		checkNotFound(t, fmt.Sprintf("GetTask(%s, %s)", probe.ws, probe.id), err, "task")
	}
	if _, total, err := s.ListTasks(ctx, b.ID, store.TaskFilter{}, store.Page{Limit: 10}); err != nil || total != 0 {
		t.Errorf("ListTasks(other workspace): total %d, err %v; want 0, nil", total, err)
	}
}

func testTaskUpdateAborts(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p1 := mustProject(t, s, ws.ID, "proj_1", at(0))
	p2 := mustProject(t, s, ws.ID, "proj_2", at(0))
	task := mustTask(t, s, ws.ID, p1.ID, "task_1", "todo", at(1))

	_, err := s.UpdateTask(ctx, ws.ID, task.ID, func(cur *store.Task) error {
		cur.ProjectID = p2.ID
		cur.Title = "not saved"
		cur.Status = "done"
		cur.DueAt = nil
		cur.CompletedAt = ptr(at(50))
		cur.UpdatedAt = at(51)
		return fmt.Errorf("callback: %w", errAbort)
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("UpdateTask: err = %v, want the callback's error", err)
	}
	stored, err := s.GetTask(ctx, ws.ID, task.ID)
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	checkTask(t, "task after the aborted update", stored, task)

	if _, err := s.UpdateTask(ctx, ws.ID, task.ID, func(cur *store.Task) error { cur.Title = "saved"; return nil }); err != nil {
		t.Fatalf("UpdateTask after an aborted one: %v", err)
	}
	task.Title = "saved"
	stored, err = s.GetTask(ctx, ws.ID, task.ID)
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	checkTask(t, "task after the next update", stored, task)
}

func testTaskUpdateProjectNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	p := mustProject(t, s, a.ID, "proj_a", at(0))
	pb := mustProject(t, s, b.ID, "proj_b", at(0))
	task := mustTask(t, s, a.ID, p.ID, "task_1", "todo", at(1))

	moveTo := func(projectID string) error {
		_, err := s.UpdateTask(ctx, a.ID, task.ID, func(cur *store.Task) error {
			cur.ProjectID = projectID
			cur.Title = "not saved"
			cur.UpdatedAt = at(99)
			return nil
		})
		return err
	}
	checkSameError(t, "UpdateTask(move to project)", moveTo(pb.ID), moveTo(randomID), "project")
	checkNotFound(t, "UpdateTask(move to no project)", moveTo(""), "project")

	stored, err := s.GetTask(ctx, a.ID, task.ID)
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	checkTask(t, "task after the refused moves", stored, task)
	got, total, err := s.ListTasks(ctx, b.ID, store.TaskFilter{ProjectID: pb.ID}, store.Page{Limit: 10})
	if err != nil || total != 0 || len(got) != 0 {
		t.Errorf("ListTasks(foreign project) = %d tasks, total %d, err %v; want none", len(got), total, err)
	}
}

func testTaskDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(0))
	doomed := mustTask(t, s, ws.ID, p.ID, "task_1", "todo", at(1))
	kept := mustTask(t, s, ws.ID, p.ID, "task_2", "todo", at(2))

	if err := s.DeleteTask(ctx, ws.ID, doomed.ID); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	_, err := s.GetTask(ctx, ws.ID, doomed.ID)
	checkNotFound(t, "GetTask(deleted)", err, "task")
	checkNotFound(t, "DeleteTask twice", s.DeleteTask(ctx, ws.ID, doomed.ID), "task")
	checkNotFound(t, "DeleteTask(random id)", s.DeleteTask(ctx, ws.ID, randomID), "task")
	_, err = s.UpdateTask(ctx, ws.ID, doomed.ID, func(*store.Task) error { return nil })
	checkNotFound(t, "UpdateTask(deleted)", err, "task")

	got, total, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 10})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if total != 1 {
		t.Errorf("ListTasks: total %d, want 1", total)
	}
	checkRecords(t, "tasks after DeleteTask", got, []store.Task{kept}, taskID, checkTask)
	if _, err := s.GetProject(ctx, ws.ID, p.ID); err != nil {
		t.Errorf("GetProject after DeleteTask: %v", err)
	}
}

func testTaskList(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	p1 := mustProject(t, s, a.ID, "proj_1", at(0))
	p2 := mustProject(t, s, a.ID, "proj_2", at(0))
	pb := mustProject(t, s, b.ID, "proj_b", at(0))
	mustTask(t, s, b.ID, pb.ID, "task_other", "todo", at(6))

	var tasks []store.Task
	for i, p := range listOrderProjects(a.ID) {
		project := []string{p1.ID, p2.ID}[i%2]
		task := newTask(a.ID, project, "task"+p.ID[len("proj"):], "todo", p.CreatedAt)
		if i%3 == 0 {
			task.DueAt = nil
		}
		if err := s.CreateTask(ctx, task); err != nil {
			t.Fatalf("CreateTask(%s): %v", task.ID, err)
		}
		tasks = append(tasks, task)
	}
	want := newestFirst(tasks, taskKey)
	got, total, err := s.ListTasks(ctx, a.ID, store.TaskFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if total != len(want) {
		t.Errorf("ListTasks: total %d, want %d", total, len(want))
	}
	checkRecords(t, "ListTasks", got, want, taskID, checkTask)
	checkPages(t, "ListTasks", mapIDs(want, taskID), func(p store.Page) ([]string, int, error) {
		got, total, err := s.ListTasks(ctx, a.ID, store.TaskFilter{}, p)
		return mapIDs(got, taskID), total, err
	})
}

func testTaskListFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	p1 := mustProject(t, s, a.ID, "proj_1", at(0))
	p2 := mustProject(t, s, a.ID, "proj_2", at(0))
	empty := mustProject(t, s, a.ID, "proj_empty", at(0))
	pb := mustProject(t, s, b.ID, "proj_b", at(0))
	// Same statuses in the other workspace: a status filter must not let them in.
	for i, status := range []string{"todo", "doing", "done"} {
		mustTask(t, s, b.ID, pb.ID, fmt.Sprintf("task_b%d", i), status, at(i))
	}

	statuses := []string{"todo", "doing", "done"}
	var tasks []store.Task
	for i, c := range "qWeRtYuIoPaSdF" {
		project := []string{p1.ID, p2.ID}[i%2]
		// Groups of four share a created_at, so filtered lists hit ties too.
		task := newTask(a.ID, project, fmt.Sprintf("task_%c", c), statuses[i%3], at(i/4))
		if err := s.CreateTask(ctx, task); err != nil {
			t.Fatalf("CreateTask(%s): %v", task.ID, err)
		}
		tasks = append(tasks, task)
	}
	filters := []store.TaskFilter{
		{},
		{ProjectID: p1.ID},
		{ProjectID: p2.ID},
		{ProjectID: empty.ID},
		{Status: "todo"},
		{Status: "done"},
		{Status: "archived"},
		{ProjectID: p1.ID, Status: "doing"},
		{ProjectID: p2.ID, Status: "todo"},
		{ProjectID: empty.ID, Status: "todo"},
	}
	for _, f := range filters {
		var match []store.Task
		for _, task := range tasks {
			if (f.ProjectID == "" || task.ProjectID == f.ProjectID) && (f.Status == "" || task.Status == f.Status) {
				match = append(match, task)
			}
		}
		want := newestFirst(match, taskKey)
		what := fmt.Sprintf("ListTasks(%+v)", f)
		got, total, err := s.ListTasks(ctx, a.ID, f, store.Page{Limit: 100})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if total != len(want) {
			t.Errorf("%s: total %d, want %d", what, total, len(want))
		}
		checkRecords(t, what, got, want, taskID, checkTask)
		checkPages(t, what, mapIDs(want, taskID), func(p store.Page) ([]string, int, error) {
			got, total, err := s.ListTasks(ctx, a.ID, f, p)
			return mapIDs(got, taskID), total, err
		})
	}

	for _, status := range []string{"", "todo"} {
		list := func(projectID string) error {
			_, _, err := s.ListTasks(ctx, a.ID, store.TaskFilter{ProjectID: projectID, Status: status}, store.Page{Limit: 10})
			return err
		}
		checkSameError(t, fmt.Sprintf("ListTasks(project, status %q)", status), list(pb.ID), list(randomID), "project")
	}
}
