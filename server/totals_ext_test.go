package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"google.golang.org/protobuf/proto"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
)

// TestTotalsFollowEveryWrite changes a workspace through both surfaces —
// creates, moves between projects, status changes, other edits, refused
// writes, deletes and a project's delete with its tasks — and after each
// step compares pagination.total on REST and gRPC, for every filter whose
// total comes from a counter (none, project, status, both) and for the
// projects and keys lists, with what the test created. On both backends.
func TestTotalsFollowEveryWrite(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		wsID, key := env.NewWorkspace("enterprise")
		ctx := env.Ctx(key)
		tasksAPI := workspacev1.NewTaskServiceClient(env.Conn)
		projectsAPI := workspacev1.NewProjectServiceClient(env.Conn)
		keysAPI := workspacev1.NewApiKeyServiceClient(env.Conn)
		statuses := []string{"todo", "in_progress", "completed"}

		type task struct{ project, status string }
		tasks := map[string]task{}
		var projects []string
		keys := 1 // the workspace's first key

		restCreate := func(path, body string) string {
			t.Helper()
			r := env.REST("POST", path, key, body)
			if r.Status != http.StatusCreated {
				t.Fatalf("POST %s %s: %d %s", path, body, r.Status, r.Body)
			}
			var env struct {
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if err := json.Unmarshal(r.Body, &env); err != nil {
				t.Fatal(err)
			}
			return env.Data.ID
		}
		restTotal := func(path string) int {
			t.Helper()
			r := env.REST("GET", path, key, "")
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
			}
			var env struct {
				Pagination struct {
					Total int `json:"total"`
				} `json:"pagination"`
			}
			if err := json.Unmarshal(r.Body, &env); err != nil {
				t.Fatal(err)
			}
			return env.Pagination.Total
		}
		check := func(step string) {
			t.Helper()
			for _, p := range append([]string{""}, projects...) {
				for _, s := range append([]string{""}, statuses...) {
					want := 0
					for _, tk := range tasks {
						if (p == "" || tk.project == p) && (s == "" || tk.status == s) {
							want++
						}
					}
					q := url.Values{"limit": {"1"}}
					if p != "" {
						q.Set("project_id", p)
					}
					if s != "" {
						q.Set("status", s)
					}
					if got := restTotal("/v1/tasks?" + q.Encode()); got != want {
						t.Errorf("%s: REST GET /v1/tasks?%s total = %d, want %d", step, q.Encode(), got, want)
					}
					resp, err := tasksAPI.ListTasks(ctx, &workspacev1.ListTasksRequest{Limit: proto.Int32(1), ProjectId: p, Status: s})
					if err != nil {
						t.Fatalf("%s: gRPC ListTasks(%q, %q): %v", step, p, s, err)
					}
					if got := int(resp.GetPagination().GetTotal()); got != want {
						t.Errorf("%s: gRPC ListTasks(%q, %q) total = %d, want %d", step, p, s, got, want)
					}
				}
			}
			if got := restTotal("/v1/projects?limit=1"); got != len(projects) {
				t.Errorf("%s: GET /v1/projects total = %d, want %d", step, got, len(projects))
			}
			resp, err := projectsAPI.ListProjects(ctx, &workspacev1.ListProjectsRequest{Limit: proto.Int32(1)})
			if err != nil || int(resp.GetPagination().GetTotal()) != len(projects) {
				t.Errorf("%s: gRPC ListProjects total = %d, %v; want %d", step, resp.GetPagination().GetTotal(), err, len(projects))
			}
			if got := restTotal("/v1/api-keys?limit=1"); got != keys {
				t.Errorf("%s: GET /v1/api-keys total = %d, want %d", step, got, keys)
			}
			kr, err := keysAPI.ListApiKeys(ctx, &workspacev1.ListApiKeysRequest{Limit: proto.Int32(1)})
			if err != nil || int(kr.GetPagination().GetTotal()) != keys {
				t.Errorf("%s: gRPC ListApiKeys total = %d, %v; want %d", step, kr.GetPagination().GetTotal(), err, keys)
			}
		}
		check("empty workspace")

		projects = append(projects, restCreate("/v1/projects", `{"name":"A"}`))
		pr, err := projectsAPI.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: "B"})
		if err != nil {
			t.Fatal(err)
		}
		projects = append(projects, pr.GetProject().GetId())
		projects = append(projects, restCreate("/v1/projects", `{"name":"C"}`))
		for i := range 9 {
			p, s := projects[i%3], statuses[i%3]
			if i%2 == 0 {
				tasks[restCreate("/v1/tasks", fmt.Sprintf(`{"title":"T%d","project_id":%q,"status":%q}`, i, p, s))] = task{p, s}
			} else {
				r, err := tasksAPI.CreateTask(ctx, &workspacev1.CreateTaskRequest{Title: fmt.Sprint("T", i), ProjectId: p, Status: s})
				if err != nil {
					t.Fatal(err)
				}
				tasks[r.GetTask().GetId()] = task{p, s}
			}
		}
		// A task without a status is a todo.
		tasks[restCreate("/v1/tasks", fmt.Sprintf(`{"title":"default","project_id":%q}`, projects[1]))] = task{projects[1], "todo"}
		check("after creates")

		// Refused writes change nothing.
		if r := env.REST("POST", "/v1/tasks", key, `{"title":"x","project_id":"proj_0000000000000000missing"}`); r.Status != http.StatusNotFound {
			t.Errorf("create in a missing project: %d %s", r.Status, r.Body)
		}
		if r := env.REST("POST", "/v1/tasks", key, fmt.Sprintf(`{"title":"","project_id":%q}`, projects[0])); r.Status != http.StatusBadRequest {
			t.Errorf("create without a title: %d %s", r.Status, r.Body)
		}
		var ids []string
		for id := range tasks {
			ids = append(ids, id)
		}
		if r := env.REST("PATCH", "/v1/tasks/"+ids[0], key, `{"project_id":"proj_0000000000000000missing","status":"completed"}`); r.Status != http.StatusNotFound {
			t.Errorf("move to a missing project: %d %s", r.Status, r.Body)
		}
		check("after refused writes")

		// Moves, status changes, both, neither; over both surfaces.
		move := func(id, p, s string) {
			t.Helper()
			tk := tasks[id]
			if p == "" {
				p = tk.project
			}
			if s == "" {
				s = tk.status
			}
			tasks[id] = task{p, s}
		}
		r := env.REST("PUT", "/v1/tasks/"+ids[0], key, fmt.Sprintf(`{"project_id":%q}`, projects[2]))
		if r.Status != http.StatusOK {
			t.Fatalf("move: %d %s", r.Status, r.Body)
		}
		move(ids[0], projects[2], "")
		r = env.REST("PATCH", "/v1/tasks/"+ids[1], key, `{"status":"completed"}`)
		if r.Status != http.StatusOK {
			t.Fatalf("status: %d %s", r.Status, r.Body)
		}
		move(ids[1], "", "completed")
		if _, err := tasksAPI.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: ids[2], Task: &workspacev1.TaskUpdate{
			ProjectId: proto.String(projects[0]), Status: proto.String("in_progress")}}); err != nil {
			t.Fatal(err)
		}
		move(ids[2], projects[0], "in_progress")
		if _, err := tasksAPI.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: ids[3], Task: &workspacev1.TaskUpdate{Title: proto.String("renamed")}}); err != nil {
			t.Fatal(err)
		}
		check("after updates")

		// Deletes: a task over REST, one over gRPC, then a project with its tasks.
		if r := env.REST("DELETE", "/v1/tasks/"+ids[4], key, ""); r.Status != http.StatusOK {
			t.Fatalf("delete task: %d %s", r.Status, r.Body)
		}
		delete(tasks, ids[4])
		if _, err := tasksAPI.DeleteTask(ctx, &workspacev1.DeleteTaskRequest{Id: ids[5]}); err != nil {
			t.Fatal(err)
		}
		delete(tasks, ids[5])
		if r := env.REST("DELETE", "/v1/tasks/"+ids[5], key, ""); r.Status != http.StatusNotFound {
			t.Errorf("delete a deleted task: %d %s", r.Status, r.Body)
		}
		check("after task deletes")
		gone := projects[1]
		if r := env.REST("DELETE", "/v1/projects/"+gone, key, ""); r.Status != http.StatusOK {
			t.Fatalf("delete project: %d %s", r.Status, r.Body)
		}
		for id, tk := range tasks {
			if tk.project == gone {
				delete(tasks, id)
			}
		}
		projects = append(projects[:1], projects[2:]...)
		check("after the project's delete")

		// Keys count, revoked ones included.
		env.NewKey(wsID, "read")
		keys++
		if r := env.REST("POST", "/v1/api-keys", key, `{"name":"k","scopes":["read"]}`); r.Status != http.StatusCreated {
			t.Fatalf("create key: %d %s", r.Status, r.Body)
		}
		keys++
		check("after new keys")
	})
}
