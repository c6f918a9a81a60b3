package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// Conditional requests (README "Conditional requests"): every project and
// task has a strong ETag, "<version>", on REST's ETag header and in the
// resource's etag field; If-None-Match makes a GET a 304; If-Match (REST) or
// the request's etag (gRPC) makes an update or a delete a 412 /
// FAILED_PRECONDITION PRECONDITION_FAILED when the resource has changed, with
// nothing changed.

// conditionalResource is one kind of resource as REST sees it.
type conditionalResource struct {
	name       string
	collection string
	createBody func(env *servertest.Env) string
	renameBody func(n int) string
	field      string // the field renameBody sets
}

func conditionalResources() []conditionalResource {
	return []conditionalResource{{
		name:       "project",
		collection: "/v1/projects",
		createBody: func(*servertest.Env) string { return `{"name":"v1"}` },
		renameBody: func(n int) string { return fmt.Sprintf(`{"name":"v%d"}`, n) },
		field:      "name",
	}, {
		name:       "task",
		collection: "/v1/tasks",
		createBody: func(env *servertest.Env) string {
			r := env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"home"}`)
			if r.Status != 201 {
				env.T.Fatalf("create project: %d %s", r.Status, r.Body)
			}
			return `{"project_id":"` + r.JSON(env.T)["data"].(map[string]any)["id"].(string) + `","title":"v1"}`
		},
		renameBody: func(n int) string { return fmt.Sprintf(`{"title":"v%d"}`, n) },
		field:      "title",
	}}
}

func TestConditionalRequestsREST(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		key := env.AdminKey
		for _, res := range conditionalResources() {
			t.Run(res.name, func(t *testing.T) {
				created := env.REST("POST", res.collection, key, res.createBody(env))
				if created.Status != 201 {
					t.Fatalf("create: %d %s", created.Status, created.Body)
				}
				checkETag(t, "create", created, `"1"`)
				path := res.collection + "/" + created.JSON(t)["data"].(map[string]any)["id"].(string)

				got := env.REST("GET", path, key, "")
				if got.Status != 200 {
					t.Fatalf("GET: %d %s", got.Status, got.Body)
				}
				checkETag(t, "GET", got, `"1"`)

				// If-None-Match: weak comparison, * and lists; a GET whose
				// copy is current is a 304 without a body but with the
				// request's and the rate limit's headers.
				for _, inm := range []string{`"1"`, `*`, `W/"1"`, `"7", "1"`} {
					for _, method := range []string{"GET", "HEAD"} {
						r := env.REST(method, path, key, "", "If-None-Match", inm)
						if r.Status != http.StatusNotModified || len(r.Body) != 0 {
							t.Fatalf("%s If-None-Match %s: %d %q, want 304 without a body", method, inm, r.Status, r.Body)
						}
						for _, h := range []string{"X-Request-Id", "X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"} {
							if r.Header.Get(h) == "" {
								t.Errorf("%s If-None-Match %s: 304 without %s (headers %v)", method, inm, h, r.Header)
							}
						}
						if r.Header.Get("ETag") != `"1"` || r.Header.Get("Content-Type") != "" {
							t.Errorf("%s If-None-Match %s: ETag %q, Content-Type %q; want \"1\" and none", method, inm, r.Header.Get("ETag"), r.Header.Get("Content-Type"))
						}
					}
				}
				if r := env.REST("GET", path, key, "", "If-None-Match", `"2"`); r.Status != 200 || string(r.Body) != string(got.Body) {
					t.Errorf(`GET If-None-Match "2": %d %s, want the 200 of a plain GET`, r.Status, r.Body)
				}

				// If-Match: strong comparison. A stale tag is a 412 that changes
				// nothing; the current one, *, or a list holding it succeed.
				version := 1
				for i, step := range []struct {
					method, ifMatch string
					ok              bool
				}{
					{"PUT", `"1"`, true},
					{"PATCH", `"1"`, false},
					{"PATCH", `"2"`, true},
					{"PUT", `W/"3"`, false}, // weak never matches strongly
					{"PATCH", `*`, true},
					{"PUT", `"9", "4"`, true},
					{"PATCH", `"4"`, false},
				} {
					want := fmt.Sprintf(`"%d"`, version)
					r := env.REST(step.method, path, key, res.renameBody(100+i), "If-Match", step.ifMatch)
					if !step.ok {
						checkPreconditionFailed(t, fmt.Sprintf("%s If-Match %s", step.method, step.ifMatch), r)
						after := env.REST("GET", path, key, "")
						checkETag(t, "GET after a 412", after, want)
						if after.JSON(t)["data"].(map[string]any)[res.field] == fmt.Sprintf("v%d", 100+i) {
							t.Errorf("%s If-Match %s: refused, yet the %s changed", step.method, step.ifMatch, res.field)
						}
						continue
					}
					if r.Status != 200 {
						t.Fatalf("%s If-Match %s: %d %s", step.method, step.ifMatch, r.Status, r.Body)
					}
					version++
					checkETag(t, step.method+" If-Match "+step.ifMatch, r, fmt.Sprintf(`"%d"`, version))
				}
				// Without If-Match a write is unconditional, and counts.
				if r := env.REST("PATCH", path, key, res.renameBody(200)); r.Status != 200 {
					t.Fatalf("PATCH: %d %s", r.Status, r.Body)
				} else {
					version++
					checkETag(t, "unconditional PATCH", r, fmt.Sprintf(`"%d"`, version))
				}

				// Malformed conditions are 400s naming the header; the gRPC
				// field is not a query parameter.
				for _, bad := range []struct{ method, header, value, field string }{
					{"PATCH", "If-Match", "5", "If-Match"},
					{"DELETE", "If-Match", `"5`, "If-Match"},
					{"GET", "If-None-Match", "5", "If-None-Match"},
				} {
					body := ""
					if bad.method == "PATCH" {
						body = res.renameBody(300)
					}
					r := env.REST(bad.method, path, key, body, bad.header, bad.value)
					code, _, details := extRESTError(t, r)
					if r.Status != 400 || code != "VALIDATION_ERROR" || details["field"] != bad.field {
						t.Errorf("%s %s: %s: %d %s, want 400 naming %s", bad.method, bad.header, bad.value, r.Status, r.Body, bad.field)
					}
				}
				r := env.REST("DELETE", path+`?etag=%221%22`, key, "")
				if code, _, details := extRESTError(t, r); r.Status != 400 || code != "VALIDATION_ERROR" || details["field"] != "etag" {
					t.Errorf("DELETE ?etag=: %d %s, want 400 naming etag", r.Status, r.Body)
				}

				// DELETE: stale refused (still there), current deletes.
				checkPreconditionFailed(t, "DELETE with a stale If-Match", env.REST("DELETE", path, key, "", "If-Match", `"1"`))
				checkETag(t, "GET after a refused DELETE", env.REST("GET", path, key, ""), fmt.Sprintf(`"%d"`, version))
				if r := env.REST("DELETE", path, key, "", "If-Match", fmt.Sprintf(`"%d"`, version)); r.Status != 200 {
					t.Fatalf("DELETE with the current If-Match: %d %s", r.Status, r.Body)
				}
				if r := env.REST("GET", path, key, ""); r.Status != 404 {
					t.Errorf("GET after DELETE: %d %s", r.Status, r.Body)
				}
				// A missing resource is a 404 whatever If-Match says (RFC
				// 9110 §13.2.1: preconditions of a request that would fail
				// anyway are not evaluated).
				if r := env.REST("DELETE", path, key, "", "If-Match", "*"); r.Status != 404 {
					t.Errorf("DELETE (gone) If-Match *: %d %s, want 404", r.Status, r.Body)
				}
			})
		}
	})
}

// TestConditionalUpdatesRaceREST sends concurrent PATCHes with the same
// If-Match: exactly one wins, every other is a 412, and the version moved by
// one.
func TestConditionalUpdatesRaceREST(t *testing.T) {
	const writers = 8
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		for _, res := range conditionalResources() {
			t.Run(res.name, func(t *testing.T) {
				created := env.REST("POST", res.collection, env.AdminKey, res.createBody(env))
				if created.Status != 201 {
					t.Fatalf("create: %d %s", created.Status, created.Body)
				}
				path := res.collection + "/" + created.JSON(t)["data"].(map[string]any)["id"].(string)
				statuses := make([]int, writers)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range writers {
					wg.Go(func() {
						<-start
						statuses[i] = env.REST("PATCH", path, env.AdminKey, res.renameBody(i), "If-Match", `"1"`).Status
					})
				}
				close(start)
				wg.Wait()
				won := 0
				for _, s := range statuses {
					switch s {
					case 200:
						won++
					case 412:
					default:
						t.Errorf("statuses %v: want only 200 and 412", statuses)
					}
				}
				if won != 1 {
					t.Errorf("statuses %v: %d won, want exactly 1", statuses, won)
				}
				checkETag(t, "GET after the race", env.REST("GET", path, env.AdminKey, ""), `"2"`)
			})
		}
	})
}

func TestConditionalRequestsGRPC(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		ctx := env.Ctx(env.AdminKey)
		projects := workspacev1.NewProjectServiceClient(env.Conn)
		tasks := workspacev1.NewTaskServiceClient(env.Conn)

		t.Run("project", func(t *testing.T) {
			cr, err := projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: "v1"})
			if err != nil {
				t.Fatal(err)
			}
			id := cr.GetProject().GetId()
			if got := cr.GetProject().GetEtag(); got != `"1"` {
				t.Errorf(`created etag %s, want "1"`, got)
			}
			name := func(s string) *workspacev1.ProjectUpdate { return &workspacev1.ProjectUpdate{Name: &s} }
			_, err = projects.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: id, Project: name("stale"), Etag: `"0"`})
			checkGRPCPrecondition(t, "UpdateProject with a stale etag", err)
			up, err := projects.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: id, Project: name("v2"), Etag: `"1"`})
			if err != nil {
				t.Fatalf("UpdateProject with the current etag: %v", err)
			}
			if up.GetProject().GetEtag() != `"2"` || up.GetProject().GetName() != "v2" {
				t.Errorf("UpdateProject = %v, want v2 at etag \"2\"", up.GetProject())
			}
			got, err := projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: id})
			if err != nil || got.GetProject().GetEtag() != `"2"` || got.GetProject().GetName() != "v2" {
				t.Errorf("GetProject = %v, %v; want v2 at etag \"2\"", got.GetProject(), err)
			}
			_, err = projects.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: id, Project: name("x"), Etag: "2"})
			checkGRPCValidation(t, "UpdateProject with an unquoted etag", err, "etag")
			_, err = projects.DeleteProject(ctx, &workspacev1.DeleteProjectRequest{Id: id, Etag: `"1"`})
			checkGRPCPrecondition(t, "DeleteProject with a stale etag", err)
			if _, err := projects.DeleteProject(ctx, &workspacev1.DeleteProjectRequest{Id: id, Etag: `"2"`}); err != nil {
				t.Fatalf("DeleteProject with the current etag: %v", err)
			}
			if _, err := projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: id}); codeOf(err) != codes.NotFound {
				t.Errorf("GetProject after DeleteProject: %v", err)
			}
		})

		t.Run("task", func(t *testing.T) {
			p, err := projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: "home"})
			if err != nil {
				t.Fatal(err)
			}
			ct, err := tasks.CreateTask(ctx, &workspacev1.CreateTaskRequest{ProjectId: p.GetProject().GetId(), Title: "v1"})
			if err != nil {
				t.Fatal(err)
			}
			id := ct.GetTask().GetId()
			if got := ct.GetTask().GetEtag(); got != `"1"` {
				t.Errorf(`created etag %s, want "1"`, got)
			}
			status := func(s string) *workspacev1.TaskUpdate { return &workspacev1.TaskUpdate{Status: &s} }
			up, err := tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: id, Task: status("in_progress"), Etag: "*"})
			if err != nil || up.GetTask().GetEtag() != `"2"` {
				t.Fatalf("UpdateTask etag *: %v, %v; want etag \"2\"", up.GetTask(), err)
			}
			_, err = tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: id, Task: status("completed"), Etag: `"1"`})
			checkGRPCPrecondition(t, "UpdateTask with a stale etag", err)
			got, err := tasks.GetTask(ctx, &workspacev1.GetTaskRequest{Id: id})
			if err != nil || got.GetTask().GetStatus() != "in_progress" || got.GetTask().GetEtag() != `"2"` || got.GetTask().GetCompletedAt() != nil {
				t.Errorf("GetTask after a refused update = %v, %v; want it unchanged", got.GetTask(), err)
			}
			_, err = tasks.DeleteTask(ctx, &workspacev1.DeleteTaskRequest{Id: id, Etag: `W/"2"`})
			checkGRPCPrecondition(t, "DeleteTask with a weak etag", err)
			if _, err := tasks.DeleteTask(ctx, &workspacev1.DeleteTaskRequest{Id: id, Etag: `"2"`}); err != nil {
				t.Fatalf("DeleteTask with the current etag: %v", err)
			}
		})

		// Concurrent updates with the same etag: exactly one wins.
		t.Run("race", func(t *testing.T) {
			const writers = 8
			cr, err := projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: "raced"})
			if err != nil {
				t.Fatal(err)
			}
			id := cr.GetProject().GetId()
			errs := make([]error, writers)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range writers {
				wg.Go(func() {
					<-start
					n := fmt.Sprintf("writer %d", i)
					_, errs[i] = projects.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: id, Project: &workspacev1.ProjectUpdate{Name: &n}, Etag: `"1"`})
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else {
					checkGRPCPrecondition(t, "a losing UpdateProject", err)
				}
			}
			if won != 1 {
				t.Errorf("%d of %d updates won, want 1", won, writers)
			}
			got, err := projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: id})
			if err != nil || got.GetProject().GetEtag() != `"2"` {
				t.Errorf("GetProject after the race = %v, %v; want etag \"2\"", got.GetProject(), err)
			}
		})
	})
}

func checkETag(t *testing.T, what string, r *servertest.Response, want string) {
	t.Helper()
	if r.Status != 200 && r.Status != 201 {
		t.Fatalf("%s: %d %s", what, r.Status, r.Body)
	}
	if got := r.Header.Get("ETag"); got != want {
		t.Errorf("%s: ETag header %q, want %q", what, got, want)
	}
	if got := r.JSON(t)["data"].(map[string]any)["etag"]; got != want {
		t.Errorf("%s: data.etag %v, want %q", what, got, want)
	}
}

func checkPreconditionFailed(t *testing.T, what string, r *servertest.Response) {
	t.Helper()
	code, _, details := extRESTError(t, r)
	if r.Status != http.StatusPreconditionFailed || code != "PRECONDITION_FAILED" || len(details) != 0 {
		t.Errorf("%s: %d %s, want 412 PRECONDITION_FAILED", what, r.Status, r.Body)
	}
	if r.Header.Get("X-Ratelimit-Limit") == "" || r.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s: 412 without the rate-limit or request-id headers: %v", what, r.Header)
	}
}

func checkGRPCPrecondition(t *testing.T, what string, err error) {
	t.Helper()
	st, info := extErrorInfo(err)
	if st.Code() != codes.FailedPrecondition || info.GetReason() != "PRECONDITION_FAILED" {
		t.Errorf("%s: %v (ErrorInfo %v), want FAILED_PRECONDITION with reason PRECONDITION_FAILED", what, err, info)
	}
}

func checkGRPCValidation(t *testing.T, what string, err error, field string) {
	t.Helper()
	st, info := extErrorInfo(err)
	if st.Code() != codes.InvalidArgument || info.GetMetadata()["field"] != field {
		t.Errorf("%s: %v (ErrorInfo %v), want INVALID_ARGUMENT naming %s", what, err, info, field)
	}
}

func codeOf(err error) codes.Code {
	st, _ := extErrorInfo(err)
	return st.Code()
}
