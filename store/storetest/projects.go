package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

func testProjectCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	full := newProject(ws.ID, "proj_full", at(1))
	empty := store.Project{ID: "proj_empty", WorkspaceID: ws.ID, CreatedAt: at(2).UTC(), UpdatedAt: at(2).UTC()}
	for _, p := range []store.Project{full, empty} {
		if err := s.CreateProject(ctx, p); err != nil {
			t.Fatalf("CreateProject(%s): %v", p.ID, err)
		}
	}
	for _, want := range []store.Project{full, empty} {
		got, err := s.GetProject(ctx, ws.ID, want.ID)
		if err != nil {
			t.Fatalf("GetProject(%s): %v", want.ID, err)
		}
		checkProject(t, "GetProject("+want.ID+")", got, want)
	}
	_, err := s.GetProject(ctx, ws.ID, randomID)
	checkNotFound(t, "GetProject(random id)", err, "project")
}

// testProjectConflict also covers an id taken in another workspace: ids name
// records across the whole store.
func testProjectConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	orig := mustProject(t, s, a.ID, "proj_1", at(1))

	dup := newProject(a.ID, orig.ID, at(5))
	dup.Name = "duplicate"
	checkConflict(t, "CreateProject(duplicate id)", s.CreateProject(ctx, dup))
	dup.WorkspaceID = b.ID
	checkConflict(t, "CreateProject(id taken in another workspace)", s.CreateProject(ctx, dup))

	got, err := s.GetProject(ctx, a.ID, orig.ID)
	if err != nil {
		t.Fatalf("GetProject: %v", err)
	}
	checkProject(t, "project after the refused duplicates", got, orig)
	_, err = s.GetProject(ctx, b.ID, orig.ID)
	checkNotFound(t, "GetProject in the other workspace", err, "project")
	for _, ws := range []string{a.ID, b.ID} {
		ps, total, err := s.ListProjects(ctx, ws, store.ProjectFilter{}, store.Page{Limit: 10})
		if err != nil {
			t.Fatalf("ListProjects: %v", err)
		}
		want := []store.Project{}
		if ws == a.ID {
			want = append(want, orig)
		}
		if total != len(want) {
			t.Errorf("ListProjects(%s): total %d, want %d", ws, total, len(want))
		}
		checkRecords(t, "ListProjects("+ws+")", ps, want, projectID, checkProject)
	}
}

func testProjectUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(1))
	other := mustProject(t, s, ws.ID, "proj_2", at(2))

	want := p
	for i, change := range []struct{ name, description string }{
		{"Renamed", "New description"},
		{"Renamed again", ""},
	} {
		calls := 0
		got, err := s.UpdateProject(ctx, ws.ID, p.ID, func(cur *store.Project) error {
			calls++
			checkProject(t, fmt.Sprintf("update %d: project seen by the callback", i), *cur, want)
			cur.Name = change.name
			cur.Description = change.description
			cur.UpdatedAt = at(100 + i)
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateProject %d: %v", i, err)
		}
		if calls != 1 {
			t.Errorf("UpdateProject %d called the callback %d times, want 1", i, calls)
		}
		want.Name, want.Description, want.UpdatedAt = change.name, change.description, at(100+i)
		checkProject(t, fmt.Sprintf("update %d: returned project", i), got, want)
		stored, err := s.GetProject(ctx, ws.ID, p.ID)
		if err != nil {
			t.Fatalf("GetProject: %v", err)
		}
		checkProject(t, fmt.Sprintf("update %d: stored project", i), stored, want)
	}
	stored, err := s.GetProject(ctx, ws.ID, other.ID)
	if err != nil {
		t.Fatalf("GetProject: %v", err)
	}
	checkProject(t, "the project not updated", stored, other)

	called := false
	_, err = s.UpdateProject(ctx, ws.ID, randomID, func(*store.Project) error { called = true; return nil })
	checkNotFound(t, "UpdateProject(random id)", err, "project")
	if called {
		t.Error("UpdateProject(random id) called the callback")
	}
}

func testProjectUpdateKeepsIdentity(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	p := mustProject(t, s, a.ID, "proj_1", at(1))

	got, err := s.UpdateProject(ctx, a.ID, p.ID, func(cur *store.Project) error {
		cur.ID = "proj_hijack"
		cur.WorkspaceID = b.ID
		cur.CreatedAt = at(500)
		cur.Name = "Renamed"
		cur.UpdatedAt = at(600)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateProject: %v", err)
	}
	want := p
	want.Name, want.UpdatedAt = "Renamed", at(600)
	checkProject(t, "returned project", got, want)
	stored, err := s.GetProject(ctx, a.ID, p.ID)
	if err != nil {
		t.Fatalf("GetProject: %v", err)
	}
	checkProject(t, "stored project", stored, want)
	for _, probe := range []struct{ ws, id string }{{a.ID, "proj_hijack"}, {b.ID, "proj_hijack"}, {b.ID, p.ID}} {
		_, err := s.GetProject(ctx, probe.ws, probe.id)
		checkNotFound(t, fmt.Sprintf("GetProject(%s, %s)", probe.ws, probe.id), err, "project")
	}
	if _, total, err := s.ListProjects(ctx, b.ID, store.ProjectFilter{}, store.Page{Limit: 10}); err != nil || total != 0 {
		t.Errorf("ListProjects(other workspace): total %d, err %v; want 0, nil", total, err)
	}
}

func testProjectUpdateAborts(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(1))
	_, err := s.UpdateProject(ctx, ws.ID, p.ID, func(cur *store.Project) error {
		cur.Name = "not saved"
		cur.Description = "not saved"
		cur.UpdatedAt = at(99)
		return fmt.Errorf("callback: %w", errAbort)
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("UpdateProject: err = %v, want the callback's error", err)
	}
	stored, err := s.GetProject(ctx, ws.ID, p.ID)
	if err != nil {
		t.Fatalf("GetProject: %v", err)
	}
	checkProject(t, "project after the aborted update", stored, p)

	// The aborted transaction must not hold anything up.
	if _, err := s.UpdateProject(ctx, ws.ID, p.ID, func(cur *store.Project) error { cur.Name = "saved"; return nil }); err != nil {
		t.Fatalf("UpdateProject after an aborted one: %v", err)
	}
	p.Name = "saved"
	stored, err = s.GetProject(ctx, ws.ID, p.ID)
	if err != nil {
		t.Fatalf("GetProject: %v", err)
	}
	checkProject(t, "project after the next update", stored, p)
}

func testProjectDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	doomed := mustProject(t, s, ws.ID, "proj_doomed", at(1))
	kept := mustProject(t, s, ws.ID, "proj_kept", at(2))
	gone := []store.Task{
		mustTask(t, s, ws.ID, doomed.ID, "task_d1", "todo", at(3)),
		mustTask(t, s, ws.ID, doomed.ID, "task_d2", "done", at(4)),
	}
	stays := mustTask(t, s, ws.ID, kept.ID, "task_k1", "todo", at(5))

	if err := s.DeleteProject(ctx, ws.ID, doomed.ID); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	_, err := s.GetProject(ctx, ws.ID, doomed.ID)
	checkNotFound(t, "GetProject(deleted)", err, "project")
	for _, task := range gone {
		_, err := s.GetTask(ctx, ws.ID, task.ID)
		checkNotFound(t, "GetTask(task of the deleted project)", err, "task")
	}
	got, err := s.GetProject(ctx, ws.ID, kept.ID)
	if err != nil {
		t.Fatalf("GetProject(kept): %v", err)
	}
	checkProject(t, "kept project", got, kept)
	tasks, total, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 10})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if total != 1 {
		t.Errorf("ListTasks: total %d, want 1", total)
	}
	checkRecords(t, "tasks after DeleteProject", tasks, []store.Task{stays}, taskID, checkTask)
	ps, total, err := s.ListProjects(ctx, ws.ID, store.ProjectFilter{}, store.Page{Limit: 10})
	if err != nil {
		t.Fatalf("ListProjects: %v", err)
	}
	if total != 1 {
		t.Errorf("ListProjects: total %d, want 1", total)
	}
	checkRecords(t, "projects after DeleteProject", ps, []store.Project{kept}, projectID, checkProject)

	checkNotFound(t, "DeleteProject twice", s.DeleteProject(ctx, ws.ID, doomed.ID), "project")
	checkNotFound(t, "DeleteProject(random id)", s.DeleteProject(ctx, ws.ID, randomID), "project")
	_, _, err = s.ListTasks(ctx, ws.ID, store.TaskFilter{ProjectID: doomed.ID}, store.Page{Limit: 10})
	checkNotFound(t, "ListTasks(deleted project)", err, "project")
	err = s.CreateTask(ctx, newTask(ws.ID, doomed.ID, "task_late", "todo", at(9)))
	checkNotFound(t, "CreateTask(deleted project)", err, "project")
}

// listOrderProjects returns projects whose list order depends on the id
// tie-break: several share a created_at, one of them given in another zone,
// and the ids mix cases, which only a bytewise comparison orders as Go does.
func listOrderProjects(wsID string) []store.Project {
	utc := func(n int) time.Time { return at(n).UTC() }
	specs := []struct {
		id      string
		created time.Time
	}{
		{"proj_b", at(5)},
		{"proj_A", at(5)},
		{"proj_Z", at(7)},
		{"proj_a", utc(5)},
		{"proj_C", at(5)},
		{"proj_z", at(3)},
		{"proj_B", at(3)},
		{"proj_c", at(9)},
		{"proj_D", at(-3_600_000_000)},
		{"proj_0", at(5)},
	}
	ps := make([]store.Project, len(specs))
	for i, sp := range specs {
		ps[i] = newProject(wsID, sp.id, sp.created)
	}
	return ps
}

func testProjectList(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	mustWorkspace(t, s, "ws_C")
	ps := listOrderProjects(a.ID)
	for _, p := range ps {
		if err := s.CreateProject(ctx, p); err != nil {
			t.Fatalf("CreateProject(%s): %v", p.ID, err)
		}
	}
	mustProject(t, s, b.ID, "proj_other", at(6))
	want := newestFirst(ps, projectKey)

	got, total, err := s.ListProjects(ctx, a.ID, store.ProjectFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatalf("ListProjects: %v", err)
	}
	if total != len(want) {
		t.Errorf("ListProjects: total %d, want %d", total, len(want))
	}
	checkRecords(t, "ListProjects", got, want, projectID, checkProject)
	checkPages(t, "ListProjects", mapIDs(want, projectID), func(p store.Page) ([]string, int, error) {
		got, total, err := s.ListProjects(ctx, a.ID, store.ProjectFilter{}, p)
		return mapIDs(got, projectID), total, err
	})
	checkPages(t, "ListProjects(empty workspace)", nil, func(p store.Page) ([]string, int, error) {
		got, total, err := s.ListProjects(ctx, "ws_C", store.ProjectFilter{}, p)
		return mapIDs(got, projectID), total, err
	})
}
