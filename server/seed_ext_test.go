package server_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/example/workspace/server/servertest"
)

var (
	projectID = regexp.MustCompile(`^proj_[0-9A-Za-z]{16,}$`)
	taskID    = regexp.MustCompile(`^task_[0-9A-Za-z]{16,}$`)
	requestID = regexp.MustCompile(`^req_[0-9A-Za-z]{16,}$`)
	rfc3339   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

// checkCommonHeaders asserts CONTRACT §10 and §8 on an authenticated answer of
// a fresh free workspace: Content-Type, a request id, and the rate-limit
// headers with the seed's spelling.
func checkCommonHeaders(t *testing.T, env *servertest.Env, r *servertest.Response, wantRemaining int) {
	t.Helper()
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := r.Header.Get("X-Request-Id"); !requestID.MatchString(got) {
		t.Errorf("X-Request-Id = %q, want a fresh req_… id", got)
	}
	wantReset := strconv.FormatInt(env.Clock.Now().Truncate(time.Minute).Add(time.Minute).Unix(), 10)
	for name, want := range map[string]string{
		"X-RateLimit-Limit":     "60",
		"X-RateLimit-Remaining": strconv.Itoa(wantRemaining),
		"X-RateLimit-Reset":     wantReset,
	} {
		if got := r.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want [%q]", name, got, want)
		}
	}
	for name := range r.Header {
		if len(name) > 14 && name[:14] == "Grpc-Metadata-" {
			t.Errorf("leaked gRPC metadata header %s", name)
		}
	}
}

func TestSeedExamples(t *testing.T) {
	env := servertest.Start(t)
	created := env.Clock.Now().UTC().Format(time.RFC3339)

	// The seed's list example, on an empty workspace.
	r := env.REST("GET", "/v1/projects", env.AdminKey, "")
	if r.Status != 200 {
		t.Fatalf("GET /v1/projects = %d %s", r.Status, r.Body)
	}
	checkCommonHeaders(t, env, r, 59)
	if got, want := string(r.Body), `{"success":true,"data":[],"pagination":{"total":0,"limit":20,"offset":0,"has_more":false}}`; compact(t, got) != want {
		t.Errorf("empty list body = %s, want %s", got, want)
	}

	// The seed's request body for a project.
	r = env.REST("POST", "/v1/projects", env.AdminKey, `{"name": "My Project", "description": "A new project"}`)
	if r.Status != 201 {
		t.Fatalf("POST /v1/projects = %d %s", r.Status, r.Body)
	}
	checkCommonHeaders(t, env, r, 58)
	body := r.JSON(t)
	data := body["data"].(map[string]any)
	if body["success"] != true || len(body) != 2 {
		t.Errorf("envelope = %v, want exactly success and data", body)
	}
	if !projectID.MatchString(data["id"].(string)) {
		t.Errorf("project id = %v", data["id"])
	}
	wantProject := map[string]any{"id": data["id"], "name": "My Project", "description": "A new project", "created_at": created, "updated_at": created, "etag": `"1"`}
	if fmt.Sprint(data) != fmt.Sprint(wantProject) {
		t.Errorf("project = %v, want %v", data, wantProject)
	}
	project := data["id"].(string)

	// The seed's "List All Projects".
	r = env.REST("GET", "/v1/projects", env.AdminKey, "")
	checkCommonHeaders(t, env, r, 57)
	list := r.JSON(t)
	if fmt.Sprint(list["pagination"]) != fmt.Sprint(map[string]any{"total": 1.0, "limit": 20.0, "offset": 0.0, "has_more": false}) {
		t.Errorf("pagination = %v", list["pagination"])
	}
	if items := list["data"].([]any); len(items) != 1 || fmt.Sprint(items[0]) != fmt.Sprint(wantProject) {
		t.Errorf("data = %v, want [%v]", items, wantProject)
	}

	// The seed's "Create a Task", verbatim but for our project id.
	r = env.REST("POST", "/v1/tasks", env.AdminKey, `{"title": "My Task", "project_id": "`+project+`"}`)
	if r.Status != 201 {
		t.Fatalf("POST /v1/tasks = %d %s", r.Status, r.Body)
	}
	checkCommonHeaders(t, env, r, 56)
	task := r.JSON(t)["data"].(map[string]any)
	if !taskID.MatchString(task["id"].(string)) {
		t.Errorf("task id = %v", task["id"])
	}
	wantTask := map[string]any{
		"id": task["id"], "project_id": project, "title": "My Task", "description": "", "status": "todo",
		"due_at": nil, "completed_at": nil, "created_at": created, "updated_at": created, "etag": `"1"`,
	}
	if fmt.Sprint(task) != fmt.Sprint(wantTask) {
		t.Errorf("task = %v, want %v", task, wantTask)
	}

	// The seed's "Update a Task": PUT with only a status.
	env.Clock.Advance(5 * time.Second)
	updated := env.Clock.Now().UTC().Format(time.RFC3339)
	r = env.REST("PUT", "/v1/tasks/"+task["id"].(string), env.AdminKey, `{"status": "completed"}`)
	if r.Status != 200 {
		t.Fatalf("PUT /v1/tasks/{id} = %d %s", r.Status, r.Body)
	}
	checkCommonHeaders(t, env, r, 55)
	got := r.JSON(t)["data"].(map[string]any)
	wantTask["status"], wantTask["completed_at"], wantTask["updated_at"], wantTask["etag"] = "completed", updated, updated, `"2"`
	if fmt.Sprint(got) != fmt.Sprint(wantTask) {
		t.Errorf("updated task = %v, want %v", got, wantTask)
	}
	for _, field := range []string{"created_at", "updated_at", "completed_at"} {
		if s, _ := got[field].(string); !rfc3339.MatchString(s) {
			t.Errorf("%s = %q, want RFC 3339 UTC whole seconds", field, s)
		}
	}

	// The seed's error example: a project without a name.
	r = env.REST("POST", "/v1/projects", env.AdminKey, `{"description": "A new project"}`)
	checkCommonHeaders(t, env, r, 54)
	if want := `{"success":false,"error":{"code":"VALIDATION_ERROR","message":"Name is required","details":{"field":"name"}}}`; r.Status != 400 || string(r.Body) != want {
		t.Errorf("nameless project = %d %s, want 400 %s", r.Status, r.Body, want)
	}
}

// compact removes the optional spaces protojson puts between members.
func compact(t *testing.T, s string) string {
	t.Helper()
	out := make([]byte, 0, len(s))
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\' && inString:
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\n'):
			continue
		}
		out = append(out, c)
	}
	return string(out)
}
