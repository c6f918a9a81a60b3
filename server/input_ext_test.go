package server_test

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// Hostile input that the two backends used to answer differently (issue 15,
// items 3 and 4; item 2 is in times_ext_test.go): each test runs the same
// assertions on SQLite and on PostgreSQL.

// inpData is the data object of a 200 or 201 answer.
func inpData(t *testing.T, what string, r *servertest.Response, status int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.Status, r.Body, status)
	}
	return r.JSON(t)["data"].(map[string]any)
}

// inpCheckError checks a REST error answer: status, code and details.field
// ("" for none).
func inpCheckError(t *testing.T, what string, r *servertest.Response, status int, code, field string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: %d %s, want %d %s", what, r.Status, r.Body, status, code)
		return
	}
	e, _ := r.JSON(t)["error"].(map[string]any)
	details, _ := e["details"].(map[string]any)
	got, _ := details["field"].(string)
	if e["code"] != code || got != field {
		t.Errorf("%s: %s, want code %s with details.field %q", what, r.Body, code, field)
	}
}

// inpGRPCField is the field a gRPC error names, from its ErrorInfo.
func inpGRPCField(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()["field"]
		}
	}
	return ""
}

// Item 3: PostgreSQL cannot store U+0000 in text, so no backend does: a NUL
// in any text field of any resource is a 400 naming the field, on both
// surfaces, and nothing is written. Every other character stays allowed —
// tabs, newlines and the other control characters are stored and given back
// as sent.
func TestNULInTextIsRefused(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise) // more requests than a free minute allows
		key := env.AdminKey
		pid := inpData(t, "create project", env.REST("POST", "/v1/projects", key, `{"name":"P","description":"d"}`), 201)["id"].(string)
		tid := inpData(t, "create task", env.REST("POST", "/v1/tasks", key, `{"project_id":"`+pid+`","title":"T","description":"d"}`), 201)["id"].(string)
		snapshot := func() string {
			var b bytes.Buffer
			for _, p := range []string{"/v1/projects", "/v1/tasks", "/v1/projects/" + pid, "/v1/tasks/" + tid, "/v1/api-keys"} {
				b.Write(env.REST("GET", p, key, "").Body)
			}
			return b.String()
		}
		before := snapshot()
		for _, c := range []struct{ method, path, body, field string }{
			{"POST", "/v1/projects", `{"name":"a\u0000b"}`, "name"},
			{"POST", "/v1/projects", `{"name":"\u0000"}`, "name"},
			{"POST", "/v1/projects", `{"name":"ok","description":"x\u0000"}`, "description"},
			{"PUT", "/v1/projects/" + pid, `{"name":"\u0000"}`, "name"},
			{"PATCH", "/v1/projects/" + pid, `{"description":"\u0000y"}`, "description"},
			{"POST", "/v1/tasks", `{"project_id":"` + pid + `","title":"\u0000"}`, "title"},
			{"POST", "/v1/tasks", `{"project_id":"` + pid + `","title":"ok","description":"\u0000"}`, "description"},
			{"PUT", "/v1/tasks/" + tid, `{"title":"t\u0000"}`, "title"},
			{"PATCH", "/v1/tasks/" + tid, `{"description":"line\n\u0000"}`, "description"},
			{"POST", "/v1/api-keys", `{"name":"k\u0000","scopes":["read"]}`, "name"},
			// Bytes that are not UTF-8 are not JSON text: the body does not
			// decode, also a 400 naming the field.
			{"POST", "/v1/projects", "{\"name\":\"\xff\xfe\"}", "name"},
			{"PATCH", "/v1/tasks/" + tid, "{\"description\":\"\xc3\"}", "description"},
			{"PATCH", "/v1/tasks/" + tid, "{\"project_id\":\"proj_\xff\"}", "project_id"},
		} {
			inpCheckError(t, c.method+" "+c.path+" "+c.body, env.REST(c.method, c.path, key, c.body), 400, "VALIDATION_ERROR", c.field)
		}

		ctx := env.Ctx(key)
		projects := workspacev1.NewProjectServiceClient(env.Conn)
		tasks := workspacev1.NewTaskServiceClient(env.Conn)
		apiKeys := workspacev1.NewApiKeyServiceClient(env.Conn)
		nul := "a\x00b"
		for _, c := range []struct {
			what  string
			field string
			call  func() error
		}{
			{"CreateProject name", "name", func() error {
				_, err := projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: nul})
				return err
			}},
			{"UpdateProject description", "description", func() error {
				_, err := projects.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: pid, Project: &workspacev1.ProjectUpdate{Description: &nul}})
				return err
			}},
			{"CreateTask title", "title", func() error {
				_, err := tasks.CreateTask(ctx, &workspacev1.CreateTaskRequest{ProjectId: pid, Title: nul})
				return err
			}},
			{"UpdateTask description", "description", func() error {
				_, err := tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: tid, Task: &workspacev1.TaskUpdate{Description: &nul}})
				return err
			}},
			{"CreateApiKey name", "name", func() error {
				_, err := apiKeys.CreateApiKey(ctx, &workspacev1.CreateApiKeyRequest{Name: nul, Scopes: []string{"read"}})
				return err
			}},
		} {
			err := c.call()
			if status.Code(err) != codes.InvalidArgument || inpGRPCField(err) != c.field {
				t.Errorf("gRPC %s with a NUL: %v (field %q), want InvalidArgument naming %q", c.what, err, inpGRPCField(err), c.field)
			}
		}
		if after := snapshot(); after != before {
			t.Errorf("refused requests changed what the API reads:\nbefore %s\nafter  %s", before, after)
		}

		// The other control characters are text like any other.
		text := "tab\tnewline\ncr\r soh\u0001 us\u001f del\u007f"
		quoted := `"tab\tnewline\ncr\r soh\u0001 us\u001f del\u007f"`
		p := inpData(t, "project with control characters",
			env.REST("POST", "/v1/projects", key, `{"name":"n `+quoted[1:len(quoted)-1]+`","description":`+quoted+`}`), 201)
		if p["description"] != text || p["name"] != "n "+text {
			t.Errorf("project answered name %q, description %q; want them as sent", p["name"], p["description"])
		}
		got := inpData(t, "get it", env.REST("GET", "/v1/projects/"+p["id"].(string), key, ""), 200)
		if got["description"] != text || got["name"] != "n "+text {
			t.Errorf("project reads back name %q, description %q; want them as sent", got["name"], got["description"])
		}
		task := inpData(t, "task with control characters",
			env.REST("PATCH", "/v1/tasks/"+tid, key, `{"title":"x`+quoted[1:len(quoted)-1]+`","description":`+quoted+`}`), 200)
		if task["description"] != text || task["title"] != "x"+text {
			t.Errorf("task answered title %q, description %q; want them as sent", task["title"], task["description"])
		}
	})
}

// Item 4: an id that no record can have — a NUL, bytes that are not UTF-8,
// characters outside base62, the wrong type prefix — is answered exactly as
// an unknown id is, by both backends, without asking the store; where
// PostgreSQL answered 500 (its text cannot hold them) and SQLite 404.
func TestMalformedIDsNameNothing(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise) // more requests than a free minute allows
		key := env.AdminKey
		pid := inpData(t, "create project", env.REST("POST", "/v1/projects", key, `{"name":"P"}`), 201)["id"].(string)
		tid := inpData(t, "create task", env.REST("POST", "/v1/tasks", key, `{"project_id":"`+pid+`","title":"T"}`), 201)["id"].(string)
		task := env.REST("GET", "/v1/tasks/"+tid, key, "").Body

		// Each request, with a well-formed id that names nothing in place of
		// the malformed one, gives the answer the malformed one must get.
		type request struct{ method, path, body string }
		unknown := map[string]string{"proj_": ids.New(ids.Project), "task_": ids.New(ids.Task), "key_": ids.New(ids.APIKey)}
		var malformed []request
		want := map[request]*servertest.Response{}
		add := func(prefix string, build func(id string) request) {
			ref := build(unknown[prefix])
			want[ref] = env.REST(ref.method, ref.path, key, ref.body)
			if want[ref].Status != 404 {
				t.Fatalf("%v with an unknown id: %d %s, want 404", ref, want[ref].Status, want[ref].Body)
			}
			for _, bad := range []string{"%00", "%ff%fe", prefix + "%00", prefix + "AAAAAAAAAAAAAAAAAAAA%ff",
				prefix + "AAAAAAAAAAAAAAAA%27AAA", prefix + "short", "ws_AAAAAAAAAAAAAAAAAAAA"} {
				r := build(bad)
				malformed = append(malformed, r)
				want[r] = want[ref]
			}
		}
		for _, method := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			body := map[string]string{"PUT": `{"name":"x"}`, "PATCH": `{"description":"x"}`}[method]
			add("proj_", func(id string) request { return request{method, "/v1/projects/" + id, body} })
			body = map[string]string{"PUT": `{"title":"x"}`, "PATCH": `{"status":"completed"}`}[method]
			add("task_", func(id string) request { return request{method, "/v1/tasks/" + id, body} })
		}
		add("key_", func(id string) request { return request{"DELETE", "/v1/api-keys/" + id, ""} })
		add("proj_", func(id string) request { return request{"GET", "/v1/tasks?project_id=" + id, ""} })
		// Ids in bodies: JSON can carry a NUL (as \u0000), not invalid UTF-8.
		for _, bad := range []string{`\u0000`, `proj_\u0000`, `proj_AAAAAAAAAAAAAAAAAAA\u0000`, `proj_AAAAAAAAAAAAAAAAAAA\"`} {
			for _, r := range []request{
				{"POST", "/v1/tasks", `{"project_id":"` + bad + `","title":"x"}`},
				{"PUT", "/v1/tasks/" + tid, `{"project_id":"` + bad + `"}`},
				{"PATCH", "/v1/tasks/" + tid, `{"project_id":"` + bad + `","title":"moved"}`},
			} {
				ref := r
				ref.body = strings.Replace(r.body, bad, unknown["proj_"], 1)
				if _, ok := want[ref]; !ok {
					want[ref] = env.REST(ref.method, ref.path, key, ref.body)
				}
				malformed = append(malformed, r)
				want[r] = want[ref]
			}
		}

		// The store is not asked: its operations' counts stand still.
		ops := []string{"GetProject", "UpdateProject", "DeleteProject", "GetTask", "UpdateTask", "DeleteTask",
			"RevokeAPIKey", "ListTasks", "CreateTask"}
		before := scrape(t, env)
		for _, r := range malformed {
			got := env.REST(r.method, r.path, key, r.body)
			ref := want[r]
			if got.Status != ref.Status || !bytes.Equal(got.Body, ref.Body) {
				t.Errorf("%s %s %s: %d %s\nwant, as for an unknown id: %d %s", r.method, r.path, r.body, got.Status, got.Body, ref.Status, ref.Body)
			}
		}
		after := scrape(t, env)
		for _, op := range ops {
			labels := map[string]string{"operation": op}
			b, _ := value(before, "workspace_store_operation_duration_seconds", labels)
			a, _ := value(after, "workspace_store_operation_duration_seconds", labels)
			if a != b {
				t.Errorf("store operation %s ran %v times for malformed ids, want none", op, a-b)
			}
		}
		if got := env.REST("GET", "/v1/tasks/"+tid, key, "").Body; !bytes.Equal(got, task) {
			t.Errorf("the requests with malformed ids changed the task:\n%s\n%s", task, got)
		}

		// gRPC: a NUL is valid UTF-8 and reaches the service, which answers
		// NotFound as for any unknown id.
		ctx := env.Ctx(key)
		projects := workspacev1.NewProjectServiceClient(env.Conn)
		tasks := workspacev1.NewTaskServiceClient(env.Conn)
		apiKeys := workspacev1.NewApiKeyServiceClient(env.Conn)
		nul := "proj_\x00"
		for what, call := range map[string]func() error{
			"GetProject": func() error {
				_, err := projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: "\x00"})
				return err
			},
			"DeleteTask": func() error {
				_, err := tasks.DeleteTask(ctx, &workspacev1.DeleteTaskRequest{Id: "task_\x00"})
				return err
			},
			"DeleteApiKey": func() error {
				_, err := apiKeys.DeleteApiKey(ctx, &workspacev1.DeleteApiKeyRequest{Id: "\x00"})
				return err
			},
			"ListTasks project_id": func() error {
				_, err := tasks.ListTasks(ctx, &workspacev1.ListTasksRequest{ProjectId: nul})
				return err
			},
			"UpdateTask project_id": func() error {
				_, err := tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: tid, Task: &workspacev1.TaskUpdate{ProjectId: &nul}})
				return err
			},
		} {
			if err := call(); status.Code(err) != codes.NotFound {
				t.Errorf("gRPC %s with a NUL id: %v, want NotFound", what, err)
			}
		}
		// Bytes that are not UTF-8 in a string field do not decode as a
		// proto3 message: a 400 from the codec, before the service.
		invalid := []byte{0xff, 0xfe}
		for _, c := range []struct {
			method string
			msg    proto.Message
			field  string
		}{
			{"/workspace.v1.ProjectService/GetProject", &workspacev1.GetProjectRequest{}, "id"},
			{"/workspace.v1.TaskService/DeleteTask", &workspacev1.DeleteTaskRequest{}, "id"},
			{"/workspace.v1.TaskService/ListTasks", &workspacev1.ListTasksRequest{}, "project_id"},
			{"/workspace.v1.ApiKeyService/DeleteApiKey", &workspacev1.DeleteApiKeyRequest{}, "id"},
		} {
			num := c.msg.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(c.field)).Number()
			payload := protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), invalid)
			var reply []byte
			err := env.Conn.Invoke(ctx, c.method, &payload, &reply, grpc.ForceCodec(fzRaw{}))
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("gRPC %s with %s not UTF-8: %v, want InvalidArgument", c.method, c.field, err)
			}
		}
	})
}
