package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// tnxCase is one RPC called with an id that A's key must not reach: B's id
// (foreign) and a random well-formed id of the same type must be answered
// identically.
type tnxCase struct {
	name    string
	foreign string // B's id
	random  string // a well-formed id nobody has
	rest    func(id string) (method, path, body string)
	grpc    func(ctx context.Context, id string) error
}

// tnxRandomID is prefix followed by 20 random base62 characters: the shape of a
// real id that no workspace has.
func tnxRandomID(prefix string) string { return prefix + ids.Random(20) }

// tnxMask is an update mask of paths.
func tnxMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// tnxStripRequestID removes the request id (which differs per request) from a
// REST body, wherever it appears.
func tnxStripRequestID(r *servertest.Response) []byte {
	b := r.Body
	if id := r.Header.Get("X-Request-Id"); id != "" {
		b = bytes.ReplaceAll(b, []byte(id), nil)
	}
	return b
}

// TestTenancyForeignIDs calls, with workspace A's admin key, every RPC that
// takes an id with workspace B's ids, and checks that the answer is the very
// 404 a random id gets (so B's ids cannot even be probed), on both surfaces,
// and that nothing of B's (or A's) changed.
func TestTenancyForeignIDs(t *testing.T) {
	env := servertest.Start(t, allowPrivate)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	c := extNewClients(env)
	aKey := env.AdminKey
	_, bKey := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
	aCtx, bCtx := env.Ctx(aKey), env.Ctx(bKey)

	pA := c.mustProject(t, aCtx, "A's project")
	tA := c.mustTask(t, aCtx, pA.GetId(), "A's task", "in_progress")
	pB := c.mustProject(t, bCtx, "B's project")
	tB := c.mustTask(t, bCtx, pB.GetId(), "B's task", "todo")
	kB := c.mustKey(t, bCtx, "B's key", "read")

	// The state to find unchanged at the end.
	getProject := func(ctx context.Context, id string) *workspacev1.Project {
		t.Helper()
		r, err := c.projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: id})
		if err != nil {
			t.Fatalf("GetProject(%s): %v", id, err)
		}
		return r.GetProject()
	}
	getTask := func(ctx context.Context, id string) *workspacev1.Task {
		t.Helper()
		r, err := c.tasks.GetTask(ctx, &workspacev1.GetTaskRequest{Id: id})
		if err != nil {
			t.Fatalf("GetTask(%s): %v", id, err)
		}
		return r.GetTask()
	}
	wantPB, wantTB, wantTA := getProject(bCtx, pB.GetId()), getTask(bCtx, tB.GetId()), getTask(aCtx, tA.GetId())

	projectBody := func(string) string { return `{"name":"hijacked by A","description":"hijacked"}` }
	taskBody := func(string) string { return `{"title":"hijacked by A","status":"completed"}` }
	path := func(prefix string) func(string) string { return func(id string) string { return prefix + id } }
	rest := func(method string, p func(string) string, body func(string) string) func(string) (string, string, string) {
		return func(id string) (string, string, string) {
			b := ""
			if body != nil {
				b = body(id)
			}
			return method, p(id), b
		}
	}
	randProj, randTask, randKey := tnxRandomID(ids.Project), tnxRandomID(ids.Task), tnxRandomID(ids.APIKey)

	cases := []tnxCase{
		{
			name: "GetProject", foreign: pB.GetId(), random: randProj,
			rest: rest(http.MethodGet, path("/v1/projects/"), nil),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: id})
				return err
			},
		},
		{
			name: "UpdateProject PUT", foreign: pB.GetId(), random: randProj,
			rest: rest(http.MethodPut, path("/v1/projects/"), projectBody),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.projects.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: id,
					Project: &workspacev1.ProjectUpdate{Name: proto.String("hijacked by A"), Description: proto.String("hijacked")}})
				return err
			},
		},
		{
			name: "UpdateProject PATCH", foreign: pB.GetId(), random: randProj,
			rest: rest(http.MethodPatch, path("/v1/projects/"), projectBody),
			grpc: func(ctx context.Context, id string) error {
				// The gRPC form with an explicit update mask.
				_, err := c.projects.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: id,
					Project: &workspacev1.ProjectUpdate{Name: proto.String("hijacked by A")}, UpdateMask: tnxMask("name")})
				return err
			},
		},
		{
			name: "DeleteProject", foreign: pB.GetId(), random: randProj,
			rest: rest(http.MethodDelete, path("/v1/projects/"), nil),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.projects.DeleteProject(ctx, &workspacev1.DeleteProjectRequest{Id: id})
				return err
			},
		},
		{
			name: "GetTask", foreign: tB.GetId(), random: randTask,
			rest: rest(http.MethodGet, path("/v1/tasks/"), nil),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.tasks.GetTask(ctx, &workspacev1.GetTaskRequest{Id: id})
				return err
			},
		},
		{
			name: "UpdateTask PUT", foreign: tB.GetId(), random: randTask,
			rest: rest(http.MethodPut, path("/v1/tasks/"), taskBody),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: id,
					Task: &workspacev1.TaskUpdate{Title: proto.String("hijacked by A"), Status: proto.String("completed")}})
				return err
			},
		},
		{
			name: "UpdateTask PATCH", foreign: tB.GetId(), random: randTask,
			rest: rest(http.MethodPatch, path("/v1/tasks/"), taskBody),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: id,
					Task: &workspacev1.TaskUpdate{Status: proto.String("completed")}, UpdateMask: tnxMask("status")})
				return err
			},
		},
		{
			name: "DeleteTask", foreign: tB.GetId(), random: randTask,
			rest: rest(http.MethodDelete, path("/v1/tasks/"), nil),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.tasks.DeleteTask(ctx, &workspacev1.DeleteTaskRequest{Id: id})
				return err
			},
		},
		{
			name: "DeleteApiKey", foreign: kB.GetId(), random: randKey,
			rest: rest(http.MethodDelete, path("/v1/api-keys/"), nil),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.keys.DeleteApiKey(ctx, &workspacev1.DeleteApiKeyRequest{Id: id})
				return err
			},
		},
		{
			name: "CreateTask in B's project", foreign: pB.GetId(), random: randProj,
			rest: rest(http.MethodPost, func(string) string { return "/v1/tasks" }, func(id string) string {
				return fmt.Sprintf(`{"project_id":%q,"title":"planted by A"}`, id)
			}),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.tasks.CreateTask(ctx, &workspacev1.CreateTaskRequest{ProjectId: id, Title: "planted by A"})
				return err
			},
		},
		{
			// Item 0 in A's own project: A's task count at the end shows it
			// went with the refused item 1.
			name: "BatchCreateTasks with B's project in item 1", foreign: pB.GetId(), random: randProj,
			rest: rest(http.MethodPost, func(string) string { return "/v1/tasks:batchCreate" }, func(id string) string {
				return fmt.Sprintf(`{"tasks":[{"project_id":%q,"title":"fine"},{"project_id":%q,"title":"planted by A"}]}`, pA.GetId(), id)
			}),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.tasks.BatchCreateTasks(ctx, &workspacev1.BatchCreateTasksRequest{Tasks: []*workspacev1.CreateTaskRequest{
					{ProjectId: pA.GetId(), Title: "fine"}, {ProjectId: id, Title: "planted by A"}}})
				return err
			},
		},
		{
			name: "ListTasks of B's project", foreign: pB.GetId(), random: randProj,
			rest: rest(http.MethodGet, path("/v1/tasks?project_id="), nil),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.tasks.ListTasks(ctx, &workspacev1.ListTasksRequest{ProjectId: id})
				return err
			},
		},
		{
			name: "UpdateTask moving A's task to B's project", foreign: pB.GetId(), random: randProj,
			rest: rest(http.MethodPatch, func(string) string { return "/v1/tasks/" + tA.GetId() }, func(id string) string {
				return fmt.Sprintf(`{"project_id":%q}`, id)
			}),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: tA.GetId(),
					Task: &workspacev1.TaskUpdate{ProjectId: proto.String(id)}})
				return err
			},
		},
		{
			name: "UpdateTask PUT moving A's task to B's project", foreign: pB.GetId(), random: randProj,
			rest: rest(http.MethodPut, func(string) string { return "/v1/tasks/" + tA.GetId() }, func(id string) string {
				return fmt.Sprintf(`{"project_id":%q,"title":"moved"}`, id)
			}),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: tA.GetId(),
					Task: &workspacev1.TaskUpdate{ProjectId: proto.String(id), Title: proto.String("moved")}, UpdateMask: tnxMask("project_id", "title")})
				return err
			},
		},
	}

	webhookCases, checkWebhooks := tnxWebhookCases(t, c, aCtx, bCtx)
	cases = append(cases, webhookCases...)
	defer checkWebhooks()

	// Every RPC that takes an id (a field id or *_id, in its request or in
	// the update message inside it) must have a case: enumerated from the
	// registered descriptors, so that a new RPC cannot be forgotten.
	idRPCs := tnxRPCsTakingIDs()
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[strings.Fields(tc.name)[0]] = true
	}
	for _, rpc := range idRPCs {
		if !covered[rpc] {
			t.Errorf("RPC %s takes an id but has no foreign-id case: add one", rpc)
		}
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("REST", func(t *testing.T) {
				m, p, b := tc.rest(tc.foreign)
				foreign := env.REST(m, p, aKey, b)
				m, p, b = tc.rest(tc.random)
				random := env.REST(m, p, aKey, b)
				if foreign.Status != http.StatusNotFound {
					t.Errorf("%s %s with B's id: want 404, got %d %s", m, p, foreign.Status, foreign.Body)
				}
				if random.Status != http.StatusNotFound {
					t.Errorf("%s %s with a random id: want 404, got %d %s", m, p, random.Status, random.Body)
				}
				if code, _, _ := extRESTError(t, foreign); code != "NOT_FOUND" {
					t.Errorf("B's id: error.code %q, want NOT_FOUND", code)
				}
				fb, rb := tnxStripRequestID(foreign), tnxStripRequestID(random)
				if foreign.Status != random.Status || !bytes.Equal(fb, rb) {
					t.Errorf("B's id and a random id are answered differently:\n  B's:    %d %s\n  random: %d %s", foreign.Status, fb, random.Status, rb)
				}
			})
			t.Run("gRPC", func(t *testing.T) {
				ferr, rerr := tc.grpc(aCtx, tc.foreign), tc.grpc(aCtx, tc.random)
				fst, finfo := extErrorInfo(ferr)
				rst, _ := extErrorInfo(rerr)
				if fst.Code() != codes.NotFound {
					t.Errorf("B's id: want NOT_FOUND, got %v %q", fst.Code(), fst.Message())
				}
				if rst.Code() != codes.NotFound {
					t.Errorf("random id: want NOT_FOUND, got %v %q", rst.Code(), rst.Message())
				}
				if finfo == nil || finfo.GetReason() != "NOT_FOUND" {
					t.Errorf("B's id: ErrorInfo %v, want reason NOT_FOUND", finfo)
				}
				// Code, message and every detail (ErrorInfo included) alike.
				if !proto.Equal(fst.Proto(), rst.Proto()) {
					t.Errorf("B's id and a random id are answered differently:\n  B's:    %v\n  random: %v", fst.Proto(), rst.Proto())
				}
			})
		})
	}
	t.Logf("checked %d RPCs taking ids (all of %v), in %d forms × foreign id vs random id, over REST and gRPC", len(idRPCs), idRPCs, len(cases))

	// Nothing of B's changed: the project and task read back the same with B's
	// key (not deleted, not updated), B's key still works and is not revoked, B's
	// project holds only its own task, and A's task did not move.
	if got := getProject(bCtx, pB.GetId()); !proto.Equal(got, wantPB) {
		t.Errorf("B's project changed:\n  was %v\n  now %v", wantPB, got)
	}
	if got := getTask(bCtx, tB.GetId()); !proto.Equal(got, wantTB) {
		t.Errorf("B's task changed:\n  was %v\n  now %v", wantTB, got)
	}
	if got := getTask(aCtx, tA.GetId()); !proto.Equal(got, wantTA) {
		t.Errorf("A's task changed by a failed move:\n  was %v\n  now %v", wantTA, got)
	}
	if k, err := env.Server.Store().GetAPIKey(context.Background(), kB.GetId()); err != nil || k.RevokedAt != nil {
		t.Errorf("B's key after A's DeleteApiKey: %+v, %v; want it unrevoked", k, err)
	}
	if _, err := c.workspaces.GetWorkspace(env.Ctx(kB.GetKey()), &workspacev1.GetWorkspaceRequest{}); err != nil {
		t.Errorf("B's key no longer works after A's DeleteApiKey: %v", err)
	}
	lt, err := c.tasks.ListTasks(bCtx, &workspacev1.ListTasksRequest{ProjectId: pB.GetId()})
	if err != nil || lt.GetPagination().GetTotal() != 1 || len(lt.GetData()) != 1 || lt.GetData()[0].GetId() != tB.GetId() {
		t.Errorf("B's project tasks: %v, %v; want only B's task", lt, err)
	}
	la, err := c.tasks.ListTasks(aCtx, &workspacev1.ListTasksRequest{})
	if err != nil || la.GetPagination().GetTotal() != 1 {
		t.Errorf("A's tasks: %v, %v; want only A's one task", la, err)
	}
}

// tnxRPCsTakingIDs lists the methods of extServices() whose request,
// or a message field of it, has a field named id or ending in _id.
func tnxRPCsTakingIDs() []string {
	takesID := func(md protoreflect.MessageDescriptor) bool {
		for i := 0; i < md.Fields().Len(); i++ {
			if n := string(md.Fields().Get(i).Name()); n == "id" || strings.HasSuffix(n, "_id") {
				return true
			}
		}
		return false
	}
	var out []string
	for _, sd := range extServices() {
		for i := 0; i < sd.Methods().Len(); i++ {
			m := sd.Methods().Get(i)
			in := m.Input()
			found := takesID(in)
			for j := 0; j < in.Fields().Len() && !found; j++ {
				if f := in.Fields().Get(j); f.Message() != nil && strings.HasPrefix(string(f.Message().FullName()), "workspace.v1.") {
					found = takesID(f.Message())
				}
			}
			if found {
				out = append(out, string(m.Name()))
			}
		}
	}
	return out
}

// tnxRESTIDs lists path with key over REST and returns the ids on the page and
// pagination.total.
func tnxRESTIDs(t *testing.T, env *servertest.Env, path, key string) ([]string, int) {
	t.Helper()
	r := env.REST(http.MethodGet, path, key, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var body struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Pagination struct {
			Total int `json:"total"`
		} `json:"pagination"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, r.Body)
	}
	out := make([]string, len(body.Data))
	for i, d := range body.Data {
		out[i] = d.ID
	}
	return out, body.Pagination.Total
}

// TestTenancyListsIsolated checks that A's lists never show B's rows and that
// their totals count A's rows only, over REST and gRPC.
func TestTenancyListsIsolated(t *testing.T) {
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	c := extNewClients(env)
	aKey := env.AdminKey
	_, bKey := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
	aCtx, bCtx := env.Ctx(aKey), env.Ctx(bKey)

	// B gets more of everything than A, so that a total counting both shows.
	var aProjects, aTasks, aKeys, bProjects, bTasks, bKeys []string
	for i := range 2 {
		p := c.mustProject(t, aCtx, fmt.Sprintf("A project %d", i)).GetId()
		aProjects = append(aProjects, p)
		aTasks = append(aTasks, c.mustTask(t, aCtx, p, fmt.Sprintf("A task %d", i), "todo").GetId())
	}
	for i := range 4 {
		p := c.mustProject(t, bCtx, fmt.Sprintf("B project %d", i)).GetId()
		bProjects = append(bProjects, p)
		for j := range 2 {
			bTasks = append(bTasks, c.mustTask(t, bCtx, p, fmt.Sprintf("B task %d.%d", i, j), "todo").GetId())
		}
	}
	aKeys = append(aKeys, c.mustKey(t, aCtx, "A extra", "read").GetId())
	for i := range 3 {
		bKeys = append(bKeys, c.mustKey(t, bCtx, fmt.Sprintf("B extra %d", i), "read").GetId())
	}
	// The keys the harness made (A's bootstrap key, B's admin key) are found
	// by listing with each workspace's own key: each list must hold exactly
	// one more key than the test created.
	const harnessKeys = 1

	type list struct {
		name      string
		path      string
		grpc      func(ctx context.Context) ([]string, int32, error)
		a, b      []string
		extraRows int  // rows not created by the test (harness keys)
		paged     bool // the page holds only part of the rows
	}
	ids := func(n int, get func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = get(i)
		}
		return out
	}
	lists := []list{
		{"ListProjects", "/v1/projects?limit=100", func(ctx context.Context) ([]string, int32, error) {
			r, err := c.projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{Limit: proto.Int32(100)})
			return ids(len(r.GetData()), func(i int) string { return r.GetData()[i].GetId() }), r.GetPagination().GetTotal(), err
		}, aProjects, bProjects, 0, false},
		{"ListTasks", "/v1/tasks?limit=100", func(ctx context.Context) ([]string, int32, error) {
			r, err := c.tasks.ListTasks(ctx, &workspacev1.ListTasksRequest{Limit: proto.Int32(100)})
			return ids(len(r.GetData()), func(i int) string { return r.GetData()[i].GetId() }), r.GetPagination().GetTotal(), err
		}, aTasks, bTasks, 0, false},
		{"ListTasks status=todo", "/v1/tasks?limit=100&status=todo", func(ctx context.Context) ([]string, int32, error) {
			r, err := c.tasks.ListTasks(ctx, &workspacev1.ListTasksRequest{Limit: proto.Int32(100), Status: "todo"})
			return ids(len(r.GetData()), func(i int) string { return r.GetData()[i].GetId() }), r.GetPagination().GetTotal(), err
		}, aTasks, bTasks, 0, false},
		{"ListApiKeys", "/v1/api-keys?limit=100", func(ctx context.Context) ([]string, int32, error) {
			r, err := c.keys.ListApiKeys(ctx, &workspacev1.ListApiKeysRequest{Limit: proto.Int32(100)})
			return ids(len(r.GetData()), func(i int) string { return r.GetData()[i].GetId() }), r.GetPagination().GetTotal(), err
		}, aKeys, bKeys, harnessKeys, false},
		// A one-item page: total must still count A's rows only.
		{"ListProjects limit=1", "/v1/projects?limit=1", func(ctx context.Context) ([]string, int32, error) {
			r, err := c.projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{Limit: proto.Int32(1)})
			return ids(len(r.GetData()), func(i int) string { return r.GetData()[i].GetId() }), r.GetPagination().GetTotal(), err
		}, aProjects, bProjects, 0, true},
	}

	check := func(t *testing.T, who string, got []string, total int, own, other []string, extra int, full bool) {
		t.Helper()
		for _, id := range got {
			if slices.Contains(other, id) {
				t.Errorf("%s's list shows the other workspace's row %s", who, id)
			}
		}
		if want := len(own) + extra; total != want {
			t.Errorf("%s's pagination.total = %d, want %d (its own rows only)", who, total, want)
		}
		if !full {
			return
		}
		if len(got) != len(own)+extra {
			t.Errorf("%s's list has %d rows, want %d: %v", who, len(got), len(own)+extra, got)
		}
		for _, id := range own {
			if !slices.Contains(got, id) {
				t.Errorf("%s's list misses its own row %s", who, id)
			}
		}
	}
	for _, l := range lists {
		full := !l.paged
		t.Run(l.name, func(t *testing.T) {
			t.Run("REST", func(t *testing.T) {
				got, total := tnxRESTIDs(t, env, l.path, aKey)
				check(t, "A", got, total, l.a, l.b, l.extraRows, full)
				got, total = tnxRESTIDs(t, env, l.path, bKey)
				check(t, "B", got, total, l.b, l.a, l.extraRows, full)
			})
			t.Run("gRPC", func(t *testing.T) {
				got, total, err := l.grpc(aCtx)
				if err != nil {
					t.Fatalf("A: %v", err)
				}
				check(t, "A", got, int(total), l.a, l.b, l.extraRows, full)
				got, total, err = l.grpc(bCtx)
				if err != nil {
					t.Fatalf("B: %v", err)
				}
				check(t, "B", got, int(total), l.b, l.a, l.extraRows, full)
			})
		})
	}
}
