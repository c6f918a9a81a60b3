package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/example/workspace/apimethod"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// ---------------------------------------------------------------------------
// Helpers shared by the *_ext_test.go files (prefixed ext to stay clear of
// other test files of the package).

// extErrorInfo returns the gRPC status of err and its google.rpc.ErrorInfo (nil
// if it carries none).
func extErrorInfo(err error) (*status.Status, *errdetails.ErrorInfo) {
	st := status.Convert(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return st, info
		}
	}
	return st, nil
}

// extRESTError checks that r is exactly CONTRACT §5's error envelope and returns
// its code, message and details.
func extRESTError(t testing.TB, r *servertest.Response) (code, message string, details map[string]any) {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("status %d: body is not a JSON object: %v\n%s", r.Status, err, r.Body)
	}
	if len(env) != 2 || string(env["success"]) != "false" || env["error"] == nil {
		t.Fatalf("status %d: body is not {\"success\":false,\"error\":{…}}: %s", r.Status, r.Body)
	}
	var e map[string]json.RawMessage
	if err := json.Unmarshal(env["error"], &e); err != nil || len(e) != 3 {
		t.Fatalf("status %d: error is not {code,message,details}: %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(e["code"], &code); err != nil {
		t.Fatalf("error.code is not a string: %s", r.Body)
	}
	if err := json.Unmarshal(e["message"], &message); err != nil || message == "" {
		t.Fatalf("error.message is not a non-empty string: %s", r.Body)
	}
	if err := json.Unmarshal(e["details"], &details); err != nil || details == nil {
		t.Fatalf("error.details is not an object: %s", r.Body)
	}
	return code, message, details
}

// extDetailsEqual reports whether REST details are exactly want.
func extDetailsEqual(got map[string]any, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if s, ok := got[k].(string); !ok || s != v {
			return false
		}
	}
	return true
}

// extClients are the generated clients over env.Conn.
type extClients struct {
	projects   workspacev1.ProjectServiceClient
	tasks      workspacev1.TaskServiceClient
	keys       workspacev1.ApiKeyServiceClient
	workspaces workspacev1.WorkspaceServiceClient
	events     workspacev1.EventServiceClient
	webhooks   workspacev1.WebhookServiceClient
}

func extNewClients(env *servertest.Env) extClients {
	return extClients{
		projects:   workspacev1.NewProjectServiceClient(env.Conn),
		tasks:      workspacev1.NewTaskServiceClient(env.Conn),
		keys:       workspacev1.NewApiKeyServiceClient(env.Conn),
		workspaces: workspacev1.NewWorkspaceServiceClient(env.Conn),
		events:     workspacev1.NewEventServiceClient(env.Conn),
		webhooks:   workspacev1.NewWebhookServiceClient(env.Conn),
	}
}

func (c extClients) mustProject(t testing.TB, ctx context.Context, name string) *workspacev1.Project {
	t.Helper()
	resp, err := c.projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: name})
	if err != nil {
		t.Fatalf("CreateProject(%q): %v", name, err)
	}
	return resp.GetProject()
}

func (c extClients) mustTask(t testing.TB, ctx context.Context, projectID, title, status string) *workspacev1.Task {
	t.Helper()
	resp, err := c.tasks.CreateTask(ctx, &workspacev1.CreateTaskRequest{ProjectId: projectID, Title: title, Status: status})
	if err != nil {
		t.Fatalf("CreateTask(%q): %v", title, err)
	}
	return resp.GetTask()
}

func (c extClients) mustKey(t testing.TB, ctx context.Context, name string, scopes ...string) *workspacev1.ApiKey {
	t.Helper()
	resp, err := c.keys.CreateApiKey(ctx, &workspacev1.CreateApiKeyRequest{Name: name, Scopes: scopes})
	if err != nil {
		t.Fatalf("CreateApiKey(%q): %v", name, err)
	}
	return resp.GetApiKey()
}

// ---------------------------------------------------------------------------
// The scope matrix.

// scxScopeSets are the key scope sets every RPC is tried with.
var scxScopeSets = [][]string{
	{"read"}, {"write"}, {"delete"}, {"admin"}, {"read", "write"}, {"read", "write", "delete"},
}

// scxFixture holds what the calls of the matrix need: an enterprise workspace,
// its admin key, and shared resources created with it.
type scxFixture struct {
	env      *servertest.Env
	c        extClients
	admin    context.Context
	project  string // shared project (read and updated, never deleted)
	task     string // shared task (read and updated, never deleted)
	sequence int
	// wsID is the workspace; endpoint (to receiver) and delivery (one of
	// its attempts) are shared, read and updated, never deleted.
	wsID     string
	receiver *whReceiver
	endpoint string
	delivery string
}

// unique returns a fresh label, so that an update's effect can be recognised.
func (f *scxFixture) unique(what string) string {
	f.sequence++
	return fmt.Sprintf("%s %d %s", what, f.sequence, ids.Random(6))
}

// scxCall is one prepared call of an RPC: the same request for both surfaces.
type scxCall struct {
	id       string // replaces {id} in the REST template
	endpoint string // replaces {endpoint_id}
	query    string // REST query string, without '?'
	body     string // REST body
	grpc     func(ctx context.Context) error
	effect   func(t *testing.T) bool // whether the call's effect is visible; nil for reads
}

// scxEntry is one RPC of the matrix.
type scxEntry struct {
	scope    string   // the scope CONTRACT §4 gives the endpoint
	verbs    []string // REST methods bound to template (all of them)
	template string   // REST path template, as in the proto
	okStatus int      // REST status of a success
	// prepare makes a valid call, creating fresh resources with the admin key
	// when the call consumes them. It is called once per surface and attempt.
	prepare func(t *testing.T, f *scxFixture) scxCall
}

// scxTable has one entry per RPC of extServices(), by full method name.
var scxTable = map[string]scxEntry{
	"/workspace.v1.ProjectService/ListProjects": {
		scope: "read", verbs: []string{"GET"}, template: "/v1/projects", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{query: "limit=5", grpc: func(ctx context.Context) error {
				_, err := f.c.projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{Limit: proto.Int32(5)})
				return err
			}}
		},
	},
	"/workspace.v1.ProjectService/CreateProject": {
		scope: "write", verbs: []string{"POST"}, template: "/v1/projects", okStatus: http.StatusCreated,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			name := f.unique("created project")
			before := f.projectTotal(t)
			return scxCall{
				body: fmt.Sprintf(`{"name":%q,"description":"from the scope matrix"}`, name),
				grpc: func(ctx context.Context) error {
					_, err := f.c.projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: name, Description: "from the scope matrix"})
					return err
				},
				effect: func(t *testing.T) bool { return f.projectTotal(t) > before },
			}
		},
	},
	"/workspace.v1.ProjectService/GetProject": {
		scope: "read", verbs: []string{"GET"}, template: "/v1/projects/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{id: f.project, grpc: func(ctx context.Context) error {
				_, err := f.c.projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: f.project})
				return err
			}}
		},
	},
	"/workspace.v1.ProjectService/UpdateProject": {
		scope: "write", verbs: []string{"PUT", "PATCH"}, template: "/v1/projects/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			name := f.unique("renamed project")
			return scxCall{
				id:   f.project,
				body: fmt.Sprintf(`{"name":%q}`, name),
				grpc: func(ctx context.Context) error {
					_, err := f.c.projects.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{
						Id: f.project, Project: &workspacev1.ProjectUpdate{Name: proto.String(name)}})
					return err
				},
				effect: func(t *testing.T) bool {
					resp, err := f.c.projects.GetProject(f.admin, &workspacev1.GetProjectRequest{Id: f.project})
					if err != nil {
						t.Fatalf("GetProject: %v", err)
					}
					return resp.GetProject().GetName() == name
				},
			}
		},
	},
	"/workspace.v1.ProjectService/DeleteProject": {
		scope: "delete", verbs: []string{"DELETE"}, template: "/v1/projects/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			id := f.c.mustProject(t, f.admin, f.unique("doomed project")).GetId()
			return scxCall{
				id: id,
				grpc: func(ctx context.Context) error {
					_, err := f.c.projects.DeleteProject(ctx, &workspacev1.DeleteProjectRequest{Id: id})
					return err
				},
				effect: func(t *testing.T) bool {
					_, err := f.c.projects.GetProject(f.admin, &workspacev1.GetProjectRequest{Id: id})
					return scxGone(t, err)
				},
			}
		},
	},
	"/workspace.v1.TaskService/ListTasks": {
		scope: "read", verbs: []string{"GET"}, template: "/v1/tasks", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{query: "limit=5&project_id=" + f.project, grpc: func(ctx context.Context) error {
				_, err := f.c.tasks.ListTasks(ctx, &workspacev1.ListTasksRequest{Limit: proto.Int32(5), ProjectId: f.project})
				return err
			}}
		},
	},
	"/workspace.v1.TaskService/CreateTask": {
		scope: "write", verbs: []string{"POST"}, template: "/v1/tasks", okStatus: http.StatusCreated,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			title := f.unique("created task")
			before := f.taskTotal(t)
			return scxCall{
				body: fmt.Sprintf(`{"project_id":%q,"title":%q}`, f.project, title),
				grpc: func(ctx context.Context) error {
					_, err := f.c.tasks.CreateTask(ctx, &workspacev1.CreateTaskRequest{ProjectId: f.project, Title: title})
					return err
				},
				effect: func(t *testing.T) bool { return f.taskTotal(t) > before },
			}
		},
	},
	"/workspace.v1.TaskService/BatchCreateTasks": {
		scope: "write", verbs: []string{"POST"}, template: "/v1/tasks:batchCreate", okStatus: http.StatusCreated,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			title := f.unique("batched task")
			before := f.taskTotal(t)
			return scxCall{
				body: fmt.Sprintf(`{"tasks":[{"project_id":%q,"title":%q},{"project_id":%q,"title":%q}]}`, f.project, title, f.project, title),
				grpc: func(ctx context.Context) error {
					_, err := f.c.tasks.BatchCreateTasks(ctx, &workspacev1.BatchCreateTasksRequest{Tasks: []*workspacev1.CreateTaskRequest{
						{ProjectId: f.project, Title: title}, {ProjectId: f.project, Title: title}}})
					return err
				},
				effect: func(t *testing.T) bool { return f.taskTotal(t) > before },
			}
		},
	},
	"/workspace.v1.TaskService/GetTask": {
		scope: "read", verbs: []string{"GET"}, template: "/v1/tasks/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{id: f.task, grpc: func(ctx context.Context) error {
				_, err := f.c.tasks.GetTask(ctx, &workspacev1.GetTaskRequest{Id: f.task})
				return err
			}}
		},
	},
	"/workspace.v1.TaskService/UpdateTask": {
		scope: "write", verbs: []string{"PUT", "PATCH"}, template: "/v1/tasks/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			title := f.unique("renamed task")
			return scxCall{
				id:   f.task,
				body: fmt.Sprintf(`{"title":%q}`, title),
				grpc: func(ctx context.Context) error {
					_, err := f.c.tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{
						Id: f.task, Task: &workspacev1.TaskUpdate{Title: proto.String(title)}})
					return err
				},
				effect: func(t *testing.T) bool {
					resp, err := f.c.tasks.GetTask(f.admin, &workspacev1.GetTaskRequest{Id: f.task})
					if err != nil {
						t.Fatalf("GetTask: %v", err)
					}
					return resp.GetTask().GetTitle() == title
				},
			}
		},
	},
	"/workspace.v1.TaskService/DeleteTask": {
		scope: "delete", verbs: []string{"DELETE"}, template: "/v1/tasks/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			id := f.c.mustTask(t, f.admin, f.project, f.unique("doomed task"), "").GetId()
			return scxCall{
				id: id,
				grpc: func(ctx context.Context) error {
					_, err := f.c.tasks.DeleteTask(ctx, &workspacev1.DeleteTaskRequest{Id: id})
					return err
				},
				effect: func(t *testing.T) bool {
					_, err := f.c.tasks.GetTask(f.admin, &workspacev1.GetTaskRequest{Id: id})
					return scxGone(t, err)
				},
			}
		},
	},
	"/workspace.v1.ApiKeyService/ListApiKeys": {
		scope: "admin", verbs: []string{"GET"}, template: "/v1/api-keys", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{query: "limit=5", grpc: func(ctx context.Context) error {
				_, err := f.c.keys.ListApiKeys(ctx, &workspacev1.ListApiKeysRequest{Limit: proto.Int32(5)})
				return err
			}}
		},
	},
	"/workspace.v1.ApiKeyService/CreateApiKey": {
		scope: "admin", verbs: []string{"POST"}, template: "/v1/api-keys", okStatus: http.StatusCreated,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			name := f.unique("created key")
			before := f.keyTotal(t)
			return scxCall{
				body: fmt.Sprintf(`{"name":%q,"scopes":["read"]}`, name),
				grpc: func(ctx context.Context) error {
					_, err := f.c.keys.CreateApiKey(ctx, &workspacev1.CreateApiKeyRequest{Name: name, Scopes: []string{"read"}})
					return err
				},
				effect: func(t *testing.T) bool { return f.keyTotal(t) > before },
			}
		},
	},
	"/workspace.v1.ApiKeyService/DeleteApiKey": {
		scope: "admin", verbs: []string{"DELETE"}, template: "/v1/api-keys/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			id := f.c.mustKey(t, f.admin, f.unique("doomed key"), "read").GetId()
			return scxCall{
				id: id,
				grpc: func(ctx context.Context) error {
					_, err := f.c.keys.DeleteApiKey(ctx, &workspacev1.DeleteApiKeyRequest{Id: id})
					return err
				},
				effect: func(t *testing.T) bool {
					k, err := f.env.Server.Store().GetAPIKey(context.Background(), id)
					if err != nil {
						t.Fatalf("store GetAPIKey(%s): %v", id, err)
					}
					return k.RevokedAt != nil
				},
			}
		},
	},
	"/workspace.v1.WorkspaceService/GetWorkspace": {
		scope: "read", verbs: []string{"GET"}, template: "/v1/workspace", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{grpc: func(ctx context.Context) error {
				_, err := f.c.workspaces.GetWorkspace(ctx, &workspacev1.GetWorkspaceRequest{})
				return err
			}}
		},
	},
	"/workspace.v1.EventService/ListEvents": {
		scope: "read", verbs: []string{"GET"}, template: "/v1/events", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{query: "limit=5&types=task.created", grpc: func(ctx context.Context) error {
				_, err := f.c.events.ListEvents(ctx, &workspacev1.ListEventsRequest{Limit: proto.Int32(5), Types: "task.created"})
				return err
			}}
		},
	},
}

// extIsStream reports whether an RPC streams its answer. The tables of this
// file call unary RPCs; the event stream's scopes, secrets and refusals are
// checked by the stream's own tests.
func extIsStream(method string) bool {
	for _, sd := range extServices() {
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			if fmt.Sprintf("/%s/%s", sd.FullName(), md.Name()) == method {
				return md.IsStreamingServer() || md.IsStreamingClient()
			}
		}
	}
	return false
}

func (f *scxFixture) projectTotal(t *testing.T) int32 {
	t.Helper()
	resp, err := f.c.projects.ListProjects(f.admin, &workspacev1.ListProjectsRequest{Limit: proto.Int32(1)})
	if err != nil {
		t.Fatalf("ListProjects: %v", err)
	}
	return resp.GetPagination().GetTotal()
}

func (f *scxFixture) taskTotal(t *testing.T) int32 {
	t.Helper()
	resp, err := f.c.tasks.ListTasks(f.admin, &workspacev1.ListTasksRequest{Limit: proto.Int32(1)})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	return resp.GetPagination().GetTotal()
}

func (f *scxFixture) keyTotal(t *testing.T) int32 {
	t.Helper()
	resp, err := f.c.keys.ListApiKeys(f.admin, &workspacev1.ListApiKeysRequest{Limit: proto.Int32(1)})
	if err != nil {
		t.Fatalf("ListApiKeys: %v", err)
	}
	return resp.GetPagination().GetTotal()
}

// scxGone reports whether err is the NOT_FOUND of a read-back; anything else
// but success fails the test.
func scxGone(t *testing.T, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	if status.Code(err) != codes.NotFound {
		t.Fatalf("read-back: %v", err)
	}
	return true
}

func (c scxCall) path(e scxEntry) string {
	p := strings.ReplaceAll(e.template, "{id}", c.id)
	p = strings.ReplaceAll(p, "{endpoint_id}", c.endpoint)
	if c.query != "" {
		p += "?" + c.query
	}
	return p
}

// extServices are the API's services, as the server's method table finds
// them in the descriptors.
func extServices() []protoreflect.ServiceDescriptor {
	table, err := apimethod.Load()
	if err != nil {
		panic(err) // the server would not start either
	}
	return table.Services()
}

// extScopes are the scopes of the method table, by full method name.
func extScopes(t *testing.T) map[string]string {
	t.Helper()
	table, err := apimethod.Load()
	if err != nil {
		t.Fatalf("apimethod.Load: %v", err)
	}
	out := map[string]string{}
	for _, m := range table.Methods() {
		out[m.FullName] = m.Scope
	}
	return out
}

// scxHTTPBindings lists an RPC's REST bindings from its google.api.http option,
// as "METHOD /path/template".
func scxHTTPBindings(t *testing.T, method string) []string {
	t.Helper()
	for _, sd := range extServices() {
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			if fmt.Sprintf("/%s/%s", sd.FullName(), md.Name()) != method {
				continue
			}
			rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				return nil
			}
			var out []string
			for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				switch {
				case r.GetGet() != "":
					out = append(out, "GET "+r.GetGet())
				case r.GetPost() != "":
					out = append(out, "POST "+r.GetPost())
				case r.GetPut() != "":
					out = append(out, "PUT "+r.GetPut())
				case r.GetPatch() != "":
					out = append(out, "PATCH "+r.GetPatch())
				case r.GetDelete() != "":
					out = append(out, "DELETE "+r.GetDelete())
				}
			}
			slices.Sort(out)
			return out
		}
	}
	t.Fatalf("no method %s in extServices()", method)
	return nil
}

// TestScopeTableCoversEveryRPC fails when an RPC of the API has no row in the
// matrix (a new RPC cannot be forgotten), when a row names an RPC that does not
// exist, when a method has no valid required_scope, when the proto's scope
// differs from CONTRACT §4, or when the row's REST bindings are not the proto's.
func TestScopeTableCoversEveryRPC(t *testing.T) {
	scopes := extScopes(t)
	if len(extServices()) != 6 {
		t.Errorf("extServices() has %d services, want 6", len(extServices()))
	}
	n := 0
	for _, sd := range extServices() {
		for i := 0; i < sd.Methods().Len(); i++ {
			n++
			name := fmt.Sprintf("/%s/%s", sd.FullName(), sd.Methods().Get(i).Name())
			if extIsStream(name) {
				continue
			}
			entry, ok := scxTable[name]
			if !ok {
				t.Errorf("RPC %s has no entry in the scope matrix (scxTable): add one", name)
				continue
			}
			if got := scopes[name]; got != entry.scope {
				t.Errorf("%s: required_scope is %q, CONTRACT §4 says %q", name, got, entry.scope)
			}
			var want []string
			for _, v := range entry.verbs {
				want = append(want, v+" "+entry.template)
			}
			slices.Sort(want)
			if got := scxHTTPBindings(t, name); !slices.Equal(got, want) {
				t.Errorf("%s: proto HTTP bindings %q, the matrix calls %q", name, got, want)
			}
		}
	}
	if len(scopes) != n {
		t.Errorf("the method table has %d scopes, the descriptors %d methods", len(scopes), n)
	}
	for name := range scxTable {
		if _, ok := scopes[name]; !ok {
			t.Errorf("scope matrix entry %s is not an RPC of extServices()", name)
		}
	}
}

// TestScopeMatrix calls every RPC with keys of every scope set, over gRPC and
// over REST (every HTTP binding), and checks that exactly the keys holding the
// required scope, or admin, get through, and that a refusal is CONTRACT §6's
// FORBIDDEN with required_scope and leaves no trace.
func TestScopeMatrix(t *testing.T) {
	env := servertest.Start(t, allowPrivate)
	scopes := extScopes(t)
	methods := make([]string, 0, len(scopes))
	for m := range scopes {
		if !extIsStream(m) {
			methods = append(methods, m)
		}
	}
	slices.Sort(methods)

	wsID, admin := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
	f := &scxFixture{env: env, c: extNewClients(env), admin: env.Ctx(admin), wsID: wsID}
	f.project = f.c.mustProject(t, f.admin, "shared project").GetId()
	f.task = f.c.mustTask(t, f.admin, f.project, "shared task", "").GetId()
	f.setupWebhooks(t)

	checked := 0
	for _, set := range scxScopeSets {
		// A fresh minute per scope set: the enterprise quota (1000/min) is never
		// in sight.
		env.Clock.Advance(time.Minute)
		key := env.NewKey(wsID, set...)
		t.Run(strings.Join(set, "+"), func(t *testing.T) {
			for _, m := range methods {
				entry, ok := scxTable[m]
				if !ok {
					t.Errorf("RPC %s has no entry in the scope matrix", m)
					continue
				}
				need := scopes[m]
				allowed := slices.Contains(set, need) || slices.Contains(set, "admin")
				checked++
				t.Run(m[strings.LastIndexByte(m, '/')+1:], func(t *testing.T) {
					t.Run("gRPC", func(t *testing.T) {
						call := entry.prepare(t, f)
						err := call.grpc(env.Ctx(key))
						if allowed {
							if err != nil {
								t.Errorf("key %v, %s needs %q: want success, got %v", set, m, need, err)
							}
						} else {
							scxCheckForbiddenGRPC(t, err, need)
						}
						scxCheckEffect(t, call, allowed)
					})
					t.Run("REST", func(t *testing.T) {
						call := entry.prepare(t, f)
						for _, verb := range entry.verbs {
							path := call.path(entry)
							resp := env.REST(verb, path, key, call.body)
							if allowed {
								if resp.Status != entry.okStatus {
									t.Errorf("key %v, %s %s: want %d, got %d %s", set, verb, path, entry.okStatus, resp.Status, resp.Body)
								} else if !strings.HasPrefix(string(resp.Body), `{"success":true,`) {
									t.Errorf("%s %s: success body %s", verb, path, resp.Body)
								}
							} else {
								scxCheckForbiddenREST(t, resp, need, verb+" "+path)
							}
						}
						scxCheckEffect(t, call, allowed)
					})
				})
			}
		})
	}
	if want := len(scxTable) * len(scxScopeSets); checked != want {
		t.Errorf("checked %d RPC × scope-set pairs, want %d", checked, want)
	}
	t.Logf("checked %d RPCs × %d scope sets = %d pairs, each over gRPC and every REST binding", len(methods), len(scxScopeSets), checked)
}

func scxCheckEffect(t *testing.T, call scxCall, allowed bool) {
	t.Helper()
	if call.effect == nil {
		return
	}
	if got := call.effect(t); got != allowed {
		if allowed {
			t.Errorf("the call succeeded but its effect is not visible")
		} else {
			t.Errorf("the call was refused but its effect is visible: a forbidden call changed data")
		}
	}
}

func scxCheckForbiddenGRPC(t *testing.T, err error, need string) {
	t.Helper()
	if err == nil {
		t.Errorf("want PERMISSION_DENIED (needs %q), got success", need)
		return
	}
	st, info := extErrorInfo(err)
	if st.Code() != codes.PermissionDenied {
		t.Errorf("want PERMISSION_DENIED, got %v: %s", st.Code(), st.Message())
	}
	if st.Message() == "" {
		t.Errorf("PERMISSION_DENIED without a message")
	}
	if info == nil {
		t.Errorf("PERMISSION_DENIED without google.rpc.ErrorInfo")
		return
	}
	if info.GetReason() != "FORBIDDEN" || info.GetDomain() != "workspace.v1" {
		t.Errorf("ErrorInfo reason %q domain %q, want FORBIDDEN workspace.v1", info.GetReason(), info.GetDomain())
	}
	if md := info.GetMetadata(); len(md) != 1 || md["required_scope"] != need {
		t.Errorf("ErrorInfo metadata %v, want {required_scope: %s}", md, need)
	}
}

func scxCheckForbiddenREST(t *testing.T, resp *servertest.Response, need, what string) {
	t.Helper()
	if resp.Status != http.StatusForbidden {
		t.Errorf("%s: want 403 (needs %q), got %d %s", what, need, resp.Status, resp.Body)
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	code, _, details := extRESTError(t, resp)
	if code != "FORBIDDEN" {
		t.Errorf("%s: error.code %q, want FORBIDDEN", what, code)
	}
	if !extDetailsEqual(details, map[string]string{"required_scope": need}) {
		t.Errorf("%s: error.details %v, want {\"required_scope\":%q}", what, details, need)
	}
}
