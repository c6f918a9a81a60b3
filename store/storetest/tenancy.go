package storetest

import (
	"fmt"
	"testing"

	"github.com/example/workspace/store"
)

// tenant is what populate stores in one workspace.
type tenant struct {
	ws       store.Workspace
	projects []store.Project
	tasks    []store.Task
	keys     []store.APIKey
}

// populate fills a workspace with records whose statuses, and times, are the
// same in every tenant, so that only the workspace tells them apart.
func populate(t *testing.T, s store.Store, tag string) tenant {
	t.Helper()
	var tn tenant
	tn.ws = mustWorkspace(t, s, "ws_"+tag)
	for i := range 2 {
		tn.projects = append(tn.projects, mustProject(t, s, tn.ws.ID, fmt.Sprintf("proj_%s%d", tag, i), at(i)))
	}
	for i, status := range []string{"todo", "done", "todo"} {
		p := tn.projects[i%2]
		tn.tasks = append(tn.tasks, mustTask(t, s, tn.ws.ID, p.ID, fmt.Sprintf("task_%s%d", tag, i), status, at(10+i)))
	}
	for i := range 2 {
		tn.keys = append(tn.keys, mustKey(t, s, tn.ws.ID, fmt.Sprintf("key_%s%d", tag, i), at(20+i)))
	}
	return tn
}

// checkTenant checks that the store holds exactly tn's records for its
// workspace, through every list and get.
func checkTenant(t *testing.T, s store.Store, what string, tn tenant) {
	t.Helper()
	ctx := t.Context()
	ws, err := s.GetWorkspace(ctx, tn.ws.ID)
	if err != nil {
		t.Fatalf("%s: GetWorkspace: %v", what, err)
	}
	checkWorkspace(t, what+": workspace", ws, tn.ws)

	page := store.Page{Limit: 100}
	ps, total, err := s.ListProjects(ctx, tn.ws.ID, store.ProjectFilter{}, page)
	if err != nil {
		t.Fatalf("%s: ListProjects: %v", what, err)
	}
	if total != len(tn.projects) {
		t.Errorf("%s: ListProjects total %d, want %d", what, total, len(tn.projects))
	}
	checkRecords(t, what+": projects", ps, newestFirst(tn.projects, projectKey), projectID, checkProject)
	for _, p := range tn.projects {
		got, err := s.GetProject(ctx, tn.ws.ID, p.ID)
		if err != nil {
			t.Fatalf("%s: GetProject(%s): %v", what, p.ID, err)
		}
		checkProject(t, what+": GetProject", got, p)
	}

	var filters []store.TaskFilter
	filters = append(filters, store.TaskFilter{}, store.TaskFilter{Status: "todo"}, store.TaskFilter{Status: "done"})
	for _, p := range tn.projects {
		filters = append(filters, store.TaskFilter{ProjectID: p.ID}, store.TaskFilter{ProjectID: p.ID, Status: "todo"})
	}
	for _, f := range filters {
		var want []store.Task
		for _, task := range tn.tasks {
			if (f.ProjectID == "" || task.ProjectID == f.ProjectID) && (f.Status == "" || task.Status == f.Status) {
				want = append(want, task)
			}
		}
		got, total, err := s.ListTasks(ctx, tn.ws.ID, f, page)
		if err != nil {
			t.Fatalf("%s: ListTasks(%+v): %v", what, f, err)
		}
		if total != len(want) {
			t.Errorf("%s: ListTasks(%+v) total %d, want %d", what, f, total, len(want))
		}
		checkRecords(t, fmt.Sprintf("%s: ListTasks(%+v)", what, f), got, newestFirst(want, taskKey), taskID, checkTask)
	}
	for _, task := range tn.tasks {
		got, err := s.GetTask(ctx, tn.ws.ID, task.ID)
		if err != nil {
			t.Fatalf("%s: GetTask(%s): %v", what, task.ID, err)
		}
		checkTask(t, what+": GetTask", got, task)
	}

	keys, total, err := s.ListAPIKeys(ctx, tn.ws.ID, page)
	if err != nil {
		t.Fatalf("%s: ListAPIKeys: %v", what, err)
	}
	if total != len(tn.keys) {
		t.Errorf("%s: ListAPIKeys total %d, want %d", what, total, len(tn.keys))
	}
	checkRecords(t, what+": keys", keys, newestFirst(tn.keys, apiKeyKey), keyID, checkKey)
	for _, k := range tn.keys {
		got, gotWS, err := s.LookupAPIKey(ctx, k.Hash)
		if err != nil {
			t.Fatalf("%s: LookupAPIKey(%s): %v", what, k.ID, err)
		}
		checkKey(t, what+": LookupAPIKey", got, k)
		checkWorkspace(t, what+": LookupAPIKey workspace", gotWS, tn.ws)
	}
}

// testTenancy calls every method that takes a workspace id with workspace a
// and the ids of workspace b: each must fail exactly as for a random id and
// leave both workspaces as they were.
func testTenancy(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := populate(t, s, "a")
	b := populate(t, s, "b")
	checkTenant(t, s, "a before", a)
	checkTenant(t, s, "b before", b)

	bp, bt, bk := b.projects[0].ID, b.tasks[0].ID, b.keys[0].ID
	ws := a.ws.ID
	called := false
	noteCall := func() { called = true }

	twice := func(what, resource string, op func(id string) error, foreignID string) {
		t.Helper()
		checkSameError(t, what, op(foreignID), op(randomID), resource)
	}
	twice("GetProject", "project", func(id string) error {
		_, err := s.GetProject(ctx, ws, id)
		return err
	}, bp)
	twice("UpdateProject", "project", func(id string) error {
		_, err := s.UpdateProject(ctx, ws, id, func(p *store.Project) error {
			noteCall()
			p.Name = "hijacked"
			return nil
		})
		return err
	}, bp)
	twice("DeleteProject", "project", func(id string) error { return s.DeleteProject(ctx, ws, id) }, bp)
	twice("ListTasks(project)", "project", func(id string) error {
		_, _, err := s.ListTasks(ctx, ws, store.TaskFilter{ProjectID: id}, store.Page{Limit: 10})
		return err
	}, bp)
	twice("ListTasks(project, status)", "project", func(id string) error {
		_, _, err := s.ListTasks(ctx, ws, store.TaskFilter{ProjectID: id, Status: "todo"}, store.Page{Limit: 10})
		return err
	}, bp)
	twice("CreateTask", "project", func(id string) error {
		return s.CreateTask(ctx, newTask(ws, id, "task_new_"+id, "todo", at(30)))
	}, bp)
	twice("GetTask", "task", func(id string) error {
		_, err := s.GetTask(ctx, ws, id)
		return err
	}, bt)
	twice("UpdateTask", "task", func(id string) error {
		_, err := s.UpdateTask(ctx, ws, id, func(task *store.Task) error {
			noteCall()
			task.Title = "hijacked"
			return nil
		})
		return err
	}, bt)
	twice("UpdateTask(move to project)", "project", func(id string) error {
		_, err := s.UpdateTask(ctx, ws, a.tasks[0].ID, func(task *store.Task) error {
			task.ProjectID = id
			return nil
		})
		return err
	}, bp)
	twice("DeleteTask", "task", func(id string) error { return s.DeleteTask(ctx, ws, id) }, bt)
	twice("RevokeAPIKey", "api_key", func(id string) error {
		_, err := s.RevokeAPIKey(ctx, ws, id, at(40))
		return err
	}, bk)
	if called {
		t.Error("an update callback was called for a record of another workspace")
	}

	checkTenant(t, s, "a after", a)
	checkTenant(t, s, "b after", b)

	// A third, empty workspace sees nothing at all.
	c := mustWorkspace(t, s, "ws_c")
	checkTenant(t, s, "empty workspace", tenant{ws: c})
}
