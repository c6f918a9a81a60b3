package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// secForbiddenFields are what a client must never set: identity, ownership,
// server-kept times and versions (etag), and the workspace's plan.
var secForbiddenFields = []string{"id", "workspace_id", "created_at", "updated_at", "etag", "plan"}

// secWriteRPC is a create or update RPC as REST sees it.
type secWriteRPC struct {
	name    string // full method
	verbs   []string
	target  protoreflect.MessageDescriptor // what the body decodes into
	resolve func(f *secFixture) (string, map[string]any)
}

type secFixture struct{ project, task, endpoint string }

// secValidBodies are valid REST calls of every create and update RPC; an RPC
// of that kind missing here fails the test.
var secValidBodies = map[string]func(f *secFixture) (string, map[string]any){
	"/workspace.v1.ProjectService/CreateProject": func(f *secFixture) (string, map[string]any) {
		return "/v1/projects", map[string]any{"name": "mass"}
	},
	"/workspace.v1.ProjectService/UpdateProject": func(f *secFixture) (string, map[string]any) {
		return "/v1/projects/" + f.project, map[string]any{"name": "mass"}
	},
	"/workspace.v1.TaskService/CreateTask": func(f *secFixture) (string, map[string]any) {
		return "/v1/tasks", map[string]any{"project_id": f.project, "title": "mass"}
	},
	"/workspace.v1.TaskService/UpdateTask": func(f *secFixture) (string, map[string]any) {
		return "/v1/tasks/" + f.task, map[string]any{"title": "mass"}
	},
	"/workspace.v1.ApiKeyService/CreateApiKey": func(f *secFixture) (string, map[string]any) {
		return "/v1/api-keys", map[string]any{"name": "mass", "scopes": []string{"read"}}
	},
	"/workspace.v1.WebhookService/CreateWebhookEndpoint": func(f *secFixture) (string, map[string]any) {
		return "/v1/webhook-endpoints", map[string]any{"url": "https://93.184.216.34/mass"}
	},
	"/workspace.v1.WebhookService/UpdateWebhookEndpoint": func(f *secFixture) (string, map[string]any) {
		return "/v1/webhook-endpoints/" + f.endpoint, map[string]any{"description": "mass"}
	},
}

// secWriteRPCs enumerates the create and update RPCs from the registered
// descriptors, with their REST verbs and body message.
func secWriteRPCs(t *testing.T) []secWriteRPC {
	t.Helper()
	var out []secWriteRPC
	for _, sd := range extServices() {
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			name := fmt.Sprintf("/%s/%s", sd.FullName(), md.Name())
			if !strings.HasPrefix(string(md.Name()), "Create") && !strings.HasPrefix(string(md.Name()), "Update") {
				continue
			}
			rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil || rule.GetBody() == "" {
				t.Errorf("%s has no REST body", name)
				continue
			}
			target := md.Input()
			if b := rule.GetBody(); b != "*" {
				target = target.Fields().ByName(protoreflect.Name(b)).Message()
			}
			var verbs []string
			for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				switch {
				case r.GetPost() != "":
					verbs = append(verbs, "POST")
				case r.GetPut() != "":
					verbs = append(verbs, "PUT")
				case r.GetPatch() != "":
					verbs = append(verbs, "PATCH")
				}
			}
			resolve, ok := secValidBodies[name]
			if !ok {
				t.Errorf("create/update RPC %s has no valid body in secValidBodies: add one", name)
				continue
			}
			out = append(out, secWriteRPC{name: name, verbs: verbs, target: target, resolve: resolve})
		}
	}
	return out
}

// TestMassAssignment: no create or update can set id, workspace_id,
// created_at, updated_at or plan. Over REST such a member is an unknown field
// (400 naming it) and nothing is written; over gRPC the messages have no such
// fields to set (checked on the descriptors), and update masks naming them are
// refused.
func TestMassAssignment(t *testing.T) {
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	c := extNewClients(env)
	admin := env.Ctx(env.AdminKey)
	f := &secFixture{}
	f.project = c.mustProject(t, admin, "target").GetId()
	f.task = c.mustTask(t, admin, f.project, "target", "").GetId()
	// A public https address: valid without --webhook-allow-private, and
	// subscribed to no event this test logs.
	f.endpoint = c.mustEndpoint(t, admin, "https://93.184.216.34/target", "target").GetId()
	before := func() string {
		var b strings.Builder
		// (The workspace itself is read at the end: its usage counts these
		// very requests.)
		for _, p := range []string{"/v1/projects?limit=100", "/v1/tasks?limit=100", "/v1/api-keys?limit=100", "/v1/webhook-endpoints?limit=100"} {
			r := env.REST("GET", p, env.AdminKey, "")
			b.Write(tnxStripRequestID(r))
		}
		return b.String()
	}
	state := before()

	rpcs := secWriteRPCs(t)
	checked := 0
	for _, rpc := range rpcs {
		for _, field := range secForbiddenFields {
			if fd := rpc.target.Fields().ByName(protoreflect.Name(field)); fd != nil {
				t.Errorf("%s: the body message %s has a field %q a client could set", rpc.name, rpc.target.FullName(), field)
			}
			path, body := rpc.resolve(f)
			for _, verb := range rpc.verbs {
				with := map[string]any{}
				for k, v := range body {
					with[k] = v
				}
				with[field] = map[string]any{"id": "proj_mine", "workspace_id": "ws_other", "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z", "etag": `"99"`, "plan": "enterprise"}[field]
				b, _ := protojsonLikeMarshal(with)
				r := env.REST(verb, path, env.AdminKey, b)
				if r.Status != 400 {
					t.Errorf("%s %s with %q: %d %s, want 400", verb, path, field, r.Status, r.Body)
					continue
				}
				code, _, details := extRESTError(t, r)
				if code != "VALIDATION_ERROR" || details["field"] != field {
					t.Errorf("%s %s with %q: %s %v, want VALIDATION_ERROR naming the field", verb, path, field, code, details)
				}
				checked++
			}
		}
	}
	if got := before(); got != state {
		t.Errorf("refused mass assignments changed data:\nbefore %s\nafter  %s", state, got)
	}

	// Update masks over gRPC may name only the updatable fields.
	for _, field := range secForbiddenFields {
		_, err := c.projects.UpdateProject(admin, &workspacev1.UpdateProjectRequest{Id: f.project,
			Project: &workspacev1.ProjectUpdate{Name: proto.String("x")}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{field}}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("UpdateProject with update_mask %q: %v, want INVALID_ARGUMENT", field, err)
		}
		_, err = c.tasks.UpdateTask(admin, &workspacev1.UpdateTaskRequest{Id: f.task,
			Task: &workspacev1.TaskUpdate{Title: proto.String("x")}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{field}}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("UpdateTask with update_mask %q: %v, want INVALID_ARGUMENT", field, err)
		}
	}
	if ws := getWorkspacePlan(t, c, admin); ws != "enterprise" {
		t.Errorf("plan = %q", ws)
	}
	t.Logf("mass assignment: %d create/update RPCs × %d fields = %d REST requests (every verb) refused with 400 naming the field; descriptors have none of the fields; update masks naming them refused", len(rpcs), len(secForbiddenFields), checked)
}

func getWorkspacePlan(t *testing.T, c extClients, ctx context.Context) string {
	t.Helper()
	r, err := c.workspaces.GetWorkspace(ctx, &workspacev1.GetWorkspaceRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetWorkspace().GetPlan()
}

// protojsonLikeMarshal marshals a body for a test request.
func protojsonLikeMarshal(v map[string]any) (string, error) {
	var b strings.Builder
	b.WriteString("{")
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:", k)
		switch x := v[k].(type) {
		case string:
			fmt.Fprintf(&b, "%q", x)
		case []string:
			b.WriteString("[")
			for j, s := range x {
				if j > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%q", s)
			}
			b.WriteString("]")
		default:
			return "", fmt.Errorf("unsupported %T", x)
		}
	}
	b.WriteString("}")
	return b.String(), nil
}

// secResponse is one answer seen by a client.
type secResponse struct {
	what     string
	body     string
	header   http.Header // REST headers, or gRPC header metadata as headers
	isNewKey bool        // the answer to a successful CreateApiKey
	// isNewSecret: the answer to a successful CreateWebhookEndpoint or
	// RotateWebhookSecret, the only ones that show a signing secret.
	isNewSecret bool
}

var secKeyPattern = regexp.MustCompile(`wsk_[0-9A-Za-z]{38}`)

// secWebhookPattern is a webhook signing secret.
var secWebhookPattern = regexp.MustCompile(`whsec_[0-9A-Za-z+/]{32}`)

// secShowsWebhookSecret reports whether a successful call of method shows
// a signing secret.
func secShowsWebhookSecret(method string) bool {
	return method == "/workspace.v1.WebhookService/CreateWebhookEndpoint" || method == "/workspace.v1.WebhookService/RotateWebhookSecret"
}

// secHashForms are the ways a key's SHA-256 could be spelled in a response or
// a log line.
func secHashForms(secret string) []string {
	h := sha256.Sum256([]byte(secret))
	return []string{
		hex.EncodeToString(h[:]), strings.ToUpper(hex.EncodeToString(h[:])),
		base64.StdEncoding.EncodeToString(h[:]), base64.RawStdEncoding.EncodeToString(h[:]),
		base64.URLEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:]),
	}
}

// TestSecretsNeverLeak calls every RPC (every row of the scope matrix, so
// every RPC of the descriptors) over gRPC and every REST binding, plus
// refusals, and scans every response and every log line: no key secret
// appears anywhere except in the one response that creates it, which is
// marked no-store; no key's hash appears anywhere at all.
func TestSecretsNeverLeak(t *testing.T) {
	env := servertest.Start(t, allowPrivate)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)

	var mu sync.Mutex
	var responses []secResponse
	capture := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		var hdr metadata.MD
		err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Header(&hdr))...)
		r := secResponse{what: "gRPC " + method, header: http.Header{}}
		for k, vs := range hdr {
			for _, v := range vs {
				r.header.Add(k, v)
			}
		}
		if err != nil {
			b, _ := protojson.Marshal(status.Convert(err).Proto())
			r.body = string(b)
		} else {
			b, _ := protojson.Marshal(reply.(proto.Message))
			r.body = string(b)
			r.isNewKey = method == "/workspace.v1.ApiKeyService/CreateApiKey"
			r.isNewSecret = secShowsWebhookSecret(method)
		}
		mu.Lock()
		responses = append(responses, r)
		mu.Unlock()
		return err
	}
	conn, err := grpc.NewClient(env.Server.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithChainUnaryInterceptor(capture))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := extClients{
		projects:   workspacev1.NewProjectServiceClient(conn),
		tasks:      workspacev1.NewTaskServiceClient(conn),
		keys:       workspacev1.NewApiKeyServiceClient(conn),
		workspaces: workspacev1.NewWorkspaceServiceClient(conn),
		events:     workspacev1.NewEventServiceClient(conn),
		webhooks:   workspacev1.NewWebhookServiceClient(conn),
	}
	rest := func(verb, path, key, body string, isCreateKey bool, headers ...string) *servertest.Response {
		r := env.REST(verb, path, key, body, headers...)
		mu.Lock()
		showsSecret := verb == "POST" && (path == "/v1/webhook-endpoints" || strings.HasSuffix(path, ":rotateSecret")) && r.Status < 300
		responses = append(responses, secResponse{what: "REST " + verb + " " + path, body: string(r.Body), header: r.Header,
			isNewKey: isCreateKey && r.Status == 201, isNewSecret: showsSecret})
		mu.Unlock()
		return r
	}

	f := &scxFixture{env: env, c: c, admin: env.Ctx(env.AdminKey), wsID: env.WorkspaceID}
	f.project = c.mustProject(t, f.admin, "secrets").GetId()
	f.task = c.mustTask(t, f.admin, f.project, "secrets", "").GetId()
	f.setupWebhooks(t)
	readKey := env.NewKey(env.WorkspaceID, "read")
	rpcs := 0
	for _, sd := range extServices() {
		for i := 0; i < sd.Methods().Len(); i++ {
			name := fmt.Sprintf("/%s/%s", sd.FullName(), sd.Methods().Get(i).Name())
			if extIsStream(name) {
				continue
			}
			entry, ok := scxTable[name]
			if !ok {
				t.Errorf("RPC %s has no entry in scxTable", name)
				continue
			}
			rpcs++
			call := entry.prepare(t, f)
			if err := call.grpc(f.admin); err != nil {
				t.Errorf("%s over gRPC: %v", name, err)
			}
			_ = call.grpc(env.Ctx(readKey)) // refusals (or reads) too
			call = entry.prepare(t, f)
			for _, verb := range entry.verbs {
				create := name == "/workspace.v1.ApiKeyService/CreateApiKey"
				rest(verb, call.path(entry), env.AdminKey, call.body, create)
				rest(verb, call.path(entry), readKey, call.body, create)
			}
		}
	}
	// Refusals that carry a key: a mistyped one, an unknown one, one in the
	// URL, a revoked one.
	mistyped := env.AdminKey[:len(env.AdminKey)-1] + "x"
	rest("GET", "/v1/projects", mistyped, "", false)
	rest("GET", "/v1/projects?api_key="+env.AdminKey, "", "", false)
	rest("GET", "/v1/projects?api_key="+env.AdminKey, env.AdminKey, "", false)
	rest("GET", "/v1/nowhere", env.AdminKey, "", false)
	_, _ = c.projects.ListProjects(env.Ctx(mistyped), &workspacev1.ListProjectsRequest{})

	// Every secret the run knows of: the admin and read keys, and every key
	// created (found in the create answers).
	secrets := map[string]bool{env.AdminKey: true, readKey: true, mistyped: true}
	for _, r := range responses {
		if r.isNewKey {
			for _, k := range secKeyPattern.FindAllString(r.body, -1) {
				secrets[k] = true
			}
		}
	}
	created := len(secrets) - 3
	if created < 2 {
		t.Fatalf("found %d created keys in the answers, want at least 2 (gRPC and REST)", created)
	}

	logs := env.Logs.String()
	scanned, webhookSecrets := 0, 0
	for _, r := range responses {
		scanned++
		text := r.body
		for k, vs := range r.header {
			text += "\n" + k + ": " + strings.Join(vs, ",")
		}
		hooks := secWebhookPattern.FindAllString(text, -1)
		switch {
		case r.isNewSecret:
			webhookSecrets++
			if len(hooks) != 1 {
				t.Errorf("%s: the answer carries %d signing secrets, want exactly its own: %s", r.what, len(hooks), text)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: carries a signing secret with Cache-Control %q, want no-store", r.what, cc)
			}
		case len(hooks) > 0:
			t.Errorf("%s: a signing secret appears in an answer other than its creation or rotation: %s", r.what, text)
		}
		found := secKeyPattern.FindAllString(text, -1)
		switch {
		case r.isNewKey:
			if len(found) != 1 {
				t.Errorf("%s: the new key's answer carries %d keys, want exactly its own: %s", r.what, len(found), text)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: carries a new key with Cache-Control %q, want no-store", r.what, cc)
			}
		case len(found) > 0:
			t.Errorf("%s: a key appears in an answer other than its creation: %s", r.what, text)
		}
		for s := range secrets {
			for _, h := range secHashForms(s) {
				if strings.Contains(text, h) {
					t.Errorf("%s: the hash of a key appears in the answer: %s", r.what, text)
				}
			}
		}
	}
	for _, line := range strings.Split(logs, "\n") {
		if secKeyPattern.MatchString(line) {
			t.Errorf("a key appears in the log: %s", line)
		}
		if strings.Contains(line, "whsec_") {
			t.Errorf("a signing secret appears in the log: %s", line)
		}
		for s := range secrets {
			for _, h := range secHashForms(s) {
				if strings.Contains(line, h) {
					t.Errorf("the hash of a key appears in the log: %s", line)
				}
			}
			if strings.Contains(line, s[4:20]) {
				t.Errorf("part of a key's secret appears in the log: %s", line)
			}
		}
	}
	if webhookSecrets < 4 {
		t.Errorf("found %d answers showing a signing secret, want at least 4 (create and rotate, gRPC and REST)", webhookSecrets)
	}
	t.Logf("scanned %d answers (%d RPCs over gRPC and every REST binding, admin and read-only keys, refusals) and %d log lines for %d secrets and %d hash spellings each: none leaked; %d new-key answers carried only their own key, with Cache-Control: no-store",
		scanned, rpcs, strings.Count(logs, "\n"), len(secrets), len(secHashForms("x")), created)
}

// TestKeyInQueryRefused: a key in the URL authenticates nothing, and a
// request carrying one is refused even when the header is valid.
func TestKeyInQueryRefused(t *testing.T) {
	env := servertest.Start(t)
	for _, q := range []string{"api_key=" + env.AdminKey, "key=" + env.AdminKey, "access_token=" + env.AdminKey, "token=x", "project_id=" + env.AdminKey, "x=" + strings.ReplaceAll(env.AdminKey, "_", "%5F"), env.AdminKey + "=" + env.AdminKey} {
		// Without the header: 401, the URL's key is not used.
		r := env.REST("GET", "/v1/projects?"+q, "", "")
		if r.Status != 401 {
			t.Errorf("?%s without Authorization: %d %s, want 401", q, r.Status, r.Body)
		}
		// With a valid header: 400, never served.
		r = env.REST("GET", "/v1/projects?"+q, env.AdminKey, "")
		if r.Status != 400 {
			t.Errorf("?%s with a valid Authorization: %d %s, want 400", q, r.Status, r.Body)
			continue
		}
		if code, msg, _ := extRESTError(t, r); code != "VALIDATION_ERROR" || !strings.Contains(msg, "Authorization header") {
			t.Errorf("?%s: %s %q", q, code, msg)
		}
		if strings.Contains(string(r.Body), env.AdminKey) {
			t.Errorf("?%s: the answer repeats the key: %s", q, r.Body)
		}
	}
	if strings.Contains(env.Logs.String(), env.AdminKey) {
		t.Errorf("the key from the URL reached the log")
	}
}
