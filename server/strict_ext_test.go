package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"

	"github.com/example/workspace/apimethod"
	"github.com/example/workspace/gen/openapi"
	"github.com/example/workspace/server/servertest"
)

// strictBinding is one REST binding of an RPC, with the query parameters the
// OpenAPI document gives it (the gateway reads its own from the protos; the
// document is generated from them by another program, internal/openapigen).
type strictBinding struct {
	method, template string
	params           map[string]bool // name → array (may repeat)
}

// strictBindings is every REST binding of the method table.
func strictBindings(t *testing.T) []strictBinding {
	t.Helper()
	table, err := apimethod.Load()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	documented := func(method, template string) map[string]bool {
		var op struct {
			Parameters []struct {
				Name   string `json:"name"`
				In     string `json:"in"`
				Schema struct {
					Type string `json:"type"`
				} `json:"schema"`
			} `json:"parameters"`
		}
		raw, ok := doc.Paths[template][strings.ToLower(method)]
		if !ok {
			t.Fatalf("%s %s is not in the OpenAPI document", method, template)
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, p := range op.Parameters {
			if p.In == "query" {
				out[p.Name] = p.Schema.Type == "array"
			}
		}
		return out
	}
	var out []strictBinding
	for _, m := range table.Methods() {
		rule, _ := proto.GetExtension(m.Desc.Options(), annotations.E_Http).(*annotations.HttpRule)
		for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
			var b strictBinding
			switch {
			case r.GetGet() != "":
				b = strictBinding{method: "GET", template: r.GetGet()}
			case r.GetPost() != "":
				b = strictBinding{method: "POST", template: r.GetPost()}
			case r.GetPut() != "":
				b = strictBinding{method: "PUT", template: r.GetPut()}
			case r.GetPatch() != "":
				b = strictBinding{method: "PATCH", template: r.GetPatch()}
			case r.GetDelete() != "":
				b = strictBinding{method: "DELETE", template: r.GetDelete()}
			default:
				t.Fatalf("%s: a binding of another kind", m.FullName)
			}
			b.params = documented(b.method, b.template)
			out = append(out, b)
		}
	}
	return out
}

var strictPathVariable = regexp.MustCompile(`\{[^}]*\}`)

// path is the binding's path with an id of the right shape in each variable
// (whether it names anything does not matter: the query is checked first).
func (b strictBinding) path() string {
	return strictPathVariable.ReplaceAllString(b.template, "proj_0000000000000000")
}

// strictRefused checks that r is a 400 VALIDATION_ERROR naming field.
func strictRefused(t *testing.T, what string, r *servertest.Response, field, inMessage string) {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Errorf("%s: %d %s, want 400", what, r.Status, r.Body)
		return
	}
	code, msg, details := extRESTError(t, r)
	if code != "VALIDATION_ERROR" || details["field"] != field {
		t.Errorf("%s: %s %v, want VALIDATION_ERROR naming %q", what, code, details, field)
	}
	if !strings.Contains(msg, inMessage) {
		t.Errorf("%s: message %q does not say %q", what, msg, inMessage)
	}
	if r.Header.Get("X-RateLimit-Remaining") == "" {
		t.Errorf("%s: no rate-limit headers on a known key's refusal", what)
	}
}

// TestStrictQueryOnEveryEndpoint: on every REST binding of every RPC, an
// unknown query parameter, and a documented single-valued one given twice,
// are a 400 VALIDATION_ERROR naming it, after admission (a known key's
// refusal carries its rate-limit headers; a missing key is still a 401).
// The bindings come from the protos, so an RPC added later is covered.
func TestStrictQueryOnEveryEndpoint(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace("enterprise")
		bindings := strictBindings(t)
		withParams := 0
		for _, b := range bindings {
			what := b.method + " " + b.template
			body := ""
			if b.method != "GET" && b.method != "DELETE" {
				body = "{}"
			}
			r := env.REST(b.method, b.path()+"?bogus=1", key, body)
			strictRefused(t, what+"?bogus=1", r, "bogus", `Unknown query parameter "bogus"`)
			if len(b.params) == 0 {
				strictRefused(t, what+"?bogus=1", r, "bogus", "takes no query parameters")
			}
			// Without a key: the 401 comes first, as for every refusal.
			if r := env.REST(b.method, b.path()+"?bogus=1", "", body); r.Status != http.StatusUnauthorized {
				t.Errorf("%s?bogus=1 without a key: %d, want 401", what, r.Status)
			}
			for name, repeated := range b.params {
				withParams++
				r := env.REST(b.method, b.path()+"?"+name+"=1&"+name+"=2", key, body)
				if repeated {
					if r.Status == http.StatusBadRequest && strings.Contains(string(r.Body), "given 2 times") {
						t.Errorf("%s: repeated parameter %q refused: %s", what, name, r.Body)
					}
					continue
				}
				strictRefused(t, what+" "+name+" twice", r, name, "given 2 times")
			}
		}
		if len(bindings) < 14 || withParams < 8 {
			t.Fatalf("%d bindings, %d parameters tried: the method table or the document is not what it seems", len(bindings), withParams)
		}
	})
}

// TestStrictQueryWording: the refusals say what the client probably meant,
// the documented parameters still work, and the order of checks holds.
func TestStrictQueryWording(t *testing.T) {
	env := servertest.Start(t)
	c := extNewClients(env)
	p := c.mustProject(t, env.Ctx(env.AdminKey), "Strict")
	c.mustTask(t, env.Ctx(env.AdminKey), p.GetId(), "one", "todo")
	key := env.AdminKey

	// The typo: no longer every task of the workspace.
	r := env.REST("GET", "/v1/tasks?projectid="+p.GetId()+"&statuss=done", key, "")
	strictRefused(t, "?projectid&statuss", r, "projectid", "takes cursor, due_after, due_before, limit, offset, order_by, project_id, q, status, updated_after")

	// A json_name (which grpc-gateway would take) is not the documented name.
	strictRefused(t, "?projectId", env.REST("GET", "/v1/tasks?projectId="+p.GetId(), key, ""), "projectId", `did you mean "project_id"?`)
	// The path's variable and the body's fields are not query parameters.
	strictRefused(t, "GET /v1/tasks/{id}?id", env.REST("GET", "/v1/tasks/task_0000000000000000?id=x", key, ""), "id", "takes it in the path")
	strictRefused(t, "POST /v1/projects?name", env.REST("POST", "/v1/projects?name=x", key, `{"name":"x"}`), "name", "takes it in the JSON body")
	strictRefused(t, "PATCH /v1/projects/{id}?project", env.REST("PATCH", "/v1/projects/"+p.GetId()+"?project=x", key, `{"name":"x"}`), "project", "in the JSON body")
	// The update mask is the gateway's, derived from the body.
	strictRefused(t, "PATCH ?update_mask", env.REST("PATCH", "/v1/projects/"+p.GetId()+"?update_mask=name", key, `{"name":"x"}`), "update_mask", "Unknown query parameter")
	strictRefused(t, "GET /v1/workspace?x", env.REST("GET", "/v1/workspace?x", key, ""), "x", "GET /v1/workspace takes no query parameters")
	strictRefused(t, "?=1", env.REST("GET", "/v1/projects?=1", key, ""), "", "has no name")
	// The client's method is named: a PUT, served as PATCH, stays a PUT.
	strictRefused(t, "PUT ?x", env.REST("PUT", "/v1/projects/"+p.GetId()+"?x=1", key, `{"name":"x"}`), "x", "PUT /v1/projects/{id} takes no query parameters")
	// The first offending name, in name order.
	strictRefused(t, "?zz&aa", env.REST("GET", "/v1/projects?zz=1&limit=5&aa=1", key, ""), "aa", `"aa"`)

	// A query string that is no URL encoding at all.
	if r := env.REST("GET", "/v1/projects?limit=%zz", key, ""); r.Status != http.StatusBadRequest {
		t.Errorf("?limit=%%zz: %d %s, want 400", r.Status, r.Body)
	} else if code, msg, _ := extRESTError(t, r); code != "VALIDATION_ERROR" || !strings.Contains(msg, "query string") {
		t.Errorf("?limit=%%zz: %s %q", code, msg)
	}

	// The documented parameters, each once, are served.
	for _, path := range []string{
		"/v1/tasks?limit=5&offset=0&project_id=" + p.GetId() + "&status=todo",
		"/v1/tasks?project_id=",
		"/v1/projects?limit=1",
		"/v1/api-keys?offset=0",
		"/v1/tasks?",
	} {
		if r := env.REST("GET", path, key, ""); r.Status != http.StatusOK {
			t.Errorf("GET %s: %d %s, want 200", path, r.Status, r.Body)
		}
	}
	// A bad value of a known parameter is still named as before.
	strictRefused(t, "?limit=abc", env.REST("GET", "/v1/tasks?limit=abc", key, ""), "limit", "limit")

	// A HEAD is checked as its GET: the same 400, without a body.
	if r := env.REST("HEAD", "/v1/projects?bogus=1", key, ""); r.Status != http.StatusBadRequest || len(r.Body) != 0 {
		t.Errorf("HEAD ?bogus=1: %d %q, want 400 without a body", r.Status, r.Body)
	}
	// A key in the URL is refused first, and for what it is.
	if r := env.REST("GET", "/v1/projects?bogus=1&api_key="+key, key, ""); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "Authorization header") {
		t.Errorf("?bogus&api_key: %d %s, want the key-in-URL 400", r.Status, r.Body)
	}
	// An unknown route stays a 404 and a wrong method a 405, whatever the query.
	if r := env.REST("GET", "/v1/nowhere?bogus=1", key, ""); r.Status != http.StatusNotFound {
		t.Errorf("/v1/nowhere?bogus=1: %d, want 404", r.Status)
	}
	if r := env.REST("POST", "/v1/workspace?bogus=1", key, "{}"); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/workspace?bogus=1: %d, want 405", r.Status)
	}
	// The API's own document ignores its query string (a cache-buster).
	if r := env.REST("GET", "/v1/openapi.json?v=2", "", ""); r.Status != http.StatusOK {
		t.Errorf("GET /v1/openapi.json?v=2: %d, want 200", r.Status)
	}

	// Each refusal is counted like any other answer to a known key.
	_, free := env.NewWorkspace("free", "read")
	for i, want := range []string{"59", "58"} {
		r := env.REST("GET", "/v1/projects?bogus="+string(rune('0'+i)), free, "")
		if r.Status != http.StatusBadRequest || r.Header.Get("X-RateLimit-Remaining") != want {
			t.Errorf("refusal %d: %d, remaining %q, want 400 and %s", i, r.Status, r.Header.Get("X-RateLimit-Remaining"), want)
		}
	}

	// The refusal's log line names the route that matched.
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(env.Logs.String(), `"http_route":"GET /v1/tasks/{id}"`) {
		t.Errorf("the refusal's log line does not name its route:\n%s", env.Logs.String())
	}
}
