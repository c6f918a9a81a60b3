package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/example/workspace/gen/openapi"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/store"
)

// loadSpec loads and lints the generated document.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.JSON)
	if err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("the OpenAPI document is not valid OpenAPI 3: %v", err)
	}
	return doc
}

func mustJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenAPILint(t *testing.T) {
	doc := loadSpec(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			what := method + " " + path
			if op.OperationID == "" || op.Summary == "" && op.Description == "" {
				t.Errorf("%s: no operationId or no summary", what)
			}
			for status, resp := range op.Responses.Map() {
				if resp.Ref == "" && (resp.Value.Description == nil || *resp.Value.Description == "") {
					t.Errorf("%s %s: response without a description", what, status)
				}
				if _, ok := resp.Value.Headers["X-Request-Id"]; !ok {
					t.Errorf("%s %s: X-Request-Id is not described", what, status)
				}
			}
			if op.Responses.Value("default") != nil {
				t.Errorf("%s: a default response hides which statuses happen", what)
			}
			if path != "/v1/openapi.json" {
				for _, s := range []string{"400", "401", "403", "429", "500", "503"} {
					if op.Responses.Value(s) == nil {
						t.Errorf("%s: no %s response", what, s)
					}
				}
			}
		}
	}
	// Every schema name and property is snake_case, the wire's spelling.
	for name, s := range doc.Components.Schemas {
		for prop := range s.Value.Properties {
			if strings.ToLower(prop) != prop || strings.Contains(prop, "-") {
				t.Errorf("schema %s: property %q is not snake_case", name, prop)
			}
		}
	}
}

// TestOpenAPIMatchesTheWire sends real requests to every operation of the
// document, successes and errors (400, 401, 403, 404, 405, 409, 413, 429, 500,
// 503), and validates each answer (status, headers,
// body) against the document with kin-openapi's openapi3filter.
func TestOpenAPIMatchesTheWire(t *testing.T) {
	var spy *servertest.Spy
	env := servertest.Start(t, servertest.WithSpy(&spy), fastWebhooks(10*time.Millisecond, 10*time.Millisecond))
	doc := loadSpec(t)

	served := env.REST("GET", "/v1/openapi.json", "", "")
	if served.Status != 200 || !bytes.Equal(served.Body, openapi.JSON) {
		t.Fatalf("GET /v1/openapi.json: %d, %d bytes; want 200 and the embedded document", served.Status, len(served.Body))
	}
	if ct := served.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET /v1/openapi.json: Content-Type %q", ct)
	}

	doc.Servers = openapi3.Servers{{URL: env.BaseURL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	exercised := map[string]map[int]bool{}
	errorSchema := doc.Components.Schemas["Error"].Value

	// call sends a request (with extra headers as name, value pairs), checks
	// its status, and validates the request (when it is meant to be valid)
	// and the response against the document. A 304 has no body.
	call := func(method, path, key, body string, want int, headers ...string) map[string]any {
		t.Helper()
		r := env.REST(method, path, key, body, headers...)
		if r.Status != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
		}
		// Every write this test makes changes something, so its success
		// carries the seq of its last event (the header is optional in
		// the document: a write that changes nothing has none).
		// Webhook endpoints' writes log nothing (only the delivery
		// engine's endpoint.disabled is logged), so carry none.
		if method != "GET" && want < 300 && !strings.HasPrefix(path, "/v1/webhook-endpoints") && !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(r.Header.Get("X-Event-Seq")) {
			t.Errorf("%s %s: X-Event-Seq %q, want the seq of its event", method, path, r.Header.Get("X-Event-Seq"))
		}
		var v map[string]any
		if want == http.StatusNotModified {
			if r.Header.Get("X-Request-Id") == "" || len(r.Body) != 0 {
				t.Errorf("%s %s: 304 with headers %v and body %q", method, path, r.Header, r.Body)
			}
		} else {
			if r.Header.Get("X-Request-Id") == "" || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s: headers %v", method, path, r.Header)
			}
			if err := json.Unmarshal(r.Body, &v); err != nil {
				t.Fatalf("%s %s: body is not JSON: %s", method, path, r.Body)
			}
		}
		req, _ := http.NewRequest(method, env.BaseURL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			// Not an operation of the document (unknown route, wrong method):
			// the body is still the error envelope.
			if want < 400 {
				t.Fatalf("%s %s: not in the document: %v", method, path, err)
			}
			if err := errorSchema.VisitJSON(v); err != nil {
				t.Errorf("%s %s: body is not the Error schema: %v\n%s", method, path, err, r.Body)
			}
			return v
		}
		reqInput := &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		if want < 400 {
			if err := openapi3filter.ValidateRequest(context.Background(), reqInput); err != nil {
				t.Errorf("%s %s: the document refuses a request the server accepts: %v", method, path, err)
			}
		}
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: reqInput,
			Status:                 r.Status,
			Header:                 r.Header,
			Body:                   io.NopCloser(bytes.NewReader(r.Body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		})
		if err != nil {
			t.Errorf("%s %s → %d does not match the document: %v\n%s", method, path, r.Status, err, r.Body)
		}
		op := method + " " + route.Path
		if exercised[op] == nil {
			exercised[op] = map[int]bool{}
		}
		exercised[op][r.Status] = true
		return v
	}
	data := func(v map[string]any) map[string]any { return v["data"].(map[string]any) }

	wsID, key := env.NewWorkspace("enterprise", "admin")
	readKey := env.NewKey(wsID, "read")

	// Successes, every operation.
	call("GET", "/v1/openapi.json", "", "", 200)
	call("GET", "/v1/workspace", key, "", 200)
	proj := data(call("POST", "/v1/projects", key, `{"name":"Docs","description":"d"}`, 201))["id"].(string)
	call("GET", "/v1/projects", key, "", 200)
	call("GET", "/v1/projects?limit=1&offset=0", key, "", 200)
	call("GET", "/v1/projects/"+proj, key, "", 200)
	call("PUT", "/v1/projects/"+proj, key, `{"name":"Docs 2"}`, 200)
	call("PATCH", "/v1/projects/"+proj, key, `{"description":""}`, 200)
	task := data(call("POST", "/v1/tasks", key, `{"title":"T","project_id":"`+proj+`","due_at":"2030-01-02T03:04:05Z"}`, 201))["id"].(string)
	call("POST", "/v1/tasks", key, `{"title":"U","project_id":"`+proj+`","status":"in_progress"}`, 201)
	call("POST", "/v1/tasks:batchCreate", key, `{"tasks":[{"title":"B1","project_id":"`+proj+`","due_at":"2030-01-02T03:04:05Z"},{"title":"B2","project_id":"`+proj+`","status":"completed"}]}`, 201)
	call("GET", "/v1/tasks", key, "", 200)
	call("GET", "/v1/tasks?project_id="+proj+"&status=todo&limit=5", key, "", 200)
	call("GET", "/v1/tasks/"+task, key, "", 200)
	call("PUT", "/v1/tasks/"+task, key, `{"status":"completed"}`, 200)
	call("PATCH", "/v1/tasks/"+task, key, `{"due_at":null,"status":"todo"}`, 200)
	// Conditional requests: ETag on every answer of one resource, 304 on a
	// GET whose If-None-Match matches, 412 on a write whose If-Match does not.
	call("GET", "/v1/projects/"+proj, key, "", 304, "If-None-Match", `"3"`)
	call("GET", "/v1/tasks/"+task, key, "", 304, "If-None-Match", `"3"`)
	call("PATCH", "/v1/projects/"+proj, key, `{"name":"Docs 3"}`, 200, "If-Match", `"3"`)
	call("PUT", "/v1/projects/"+proj, key, `{"name":"stale"}`, 412, "If-Match", `"3"`)
	call("PATCH", "/v1/tasks/"+task, key, `{"title":"stale"}`, 412, "If-Match", `"1"`)
	call("DELETE", "/v1/tasks/"+task, key, "", 412, "If-Match", `"1"`)
	call("DELETE", "/v1/projects/"+proj, key, "", 412, "If-Match", `"1"`)
	newKey := data(call("POST", "/v1/api-keys", key, `{"name":"ci","scopes":["read","write"],"expires_at":"2030-01-01T00:00:00Z"}`, 201))
	if newKey["key"] == nil {
		t.Errorf("create key: no secret in %v", newKey)
	}
	call("GET", "/v1/api-keys", key, "", 200)
	call("DELETE", "/v1/api-keys/"+newKey["id"].(string), key, "", 200)
	call("DELETE", "/v1/tasks/"+task, key, "", 200)
	// The log of all that: creates (previous null), updates (previous set),
	// deletes, keys, a page with a cursor.
	evs := call("GET", "/v1/events?after=0&limit=5", key, "", 200)
	if next, _ := evs["pagination"].(map[string]any)["next_cursor"].(string); next == "" {
		t.Errorf("GET /v1/events?limit=5: no next_cursor in %v", evs["pagination"])
	} else {
		call("GET", "/v1/events?limit=100&cursor="+next, key, "", 200)
	}
	call("GET", "/v1/events?types=task.updated,api_key.revoked", readKey, "", 200)
	// Webhooks, to a receiver on loopback: the secret in the creation and
	// the rotation only, a test, its attempt listed and retried.
	recv := newLoopbackReceiver(t)
	ep := data(call("POST", "/v1/webhook-endpoints", key, `{"url":"`+recv.URL+`","description":"docs","event_types":["endpoint.disabled"]}`, 201))
	if ep["secret"] == nil {
		t.Errorf("create endpoint: no secret in %v", ep)
	}
	epID := ep["id"].(string)
	call("GET", "/v1/webhook-endpoints", key, "", 200)
	call("GET", "/v1/webhook-endpoints?limit=1", key, "", 200)
	call("GET", "/v1/webhook-endpoints/"+epID, key, "", 200)
	call("GET", "/v1/webhook-endpoints/"+epID, key, "", 304, "If-None-Match", `"1"`)
	call("PATCH", "/v1/webhook-endpoints/"+epID, key, `{"description":"docs 2","event_types":[]}`, 200, "If-Match", `"1"`)
	call("PUT", "/v1/webhook-endpoints/"+epID, key, `{"enabled":false}`, 200)
	call("PATCH", "/v1/webhook-endpoints/"+epID, key, `{"enabled":true}`, 412, "If-Match", `"1"`)
	if rot := data(call("POST", "/v1/webhook-endpoints/"+epID+":rotateSecret", key, `{}`, 200)); rot["secret"] == nil || rot["previous_secret_expires_at"] == nil {
		t.Errorf("rotate: %v", rot)
	}
	ping := data(call("POST", "/v1/webhook-endpoints/"+epID+":test", key, `{}`, 200))
	call("GET", "/v1/webhook-endpoints/"+epID+"/deliveries", key, "", 200)
	call("GET", "/v1/webhook-endpoints/"+epID+"/deliveries?limit=1", key, "", 200)
	call("POST", "/v1/webhook-endpoints/"+epID+"/deliveries/"+ping["id"].(string)+":retry", key, `{}`, 200)
	call("POST", "/v1/webhook-endpoints", key, `{"url":"ftp://example.com/"}`, 400)
	call("POST", "/v1/webhook-endpoints", key, `{"url":"`+recv.URL+`","event_types":["nope"]}`, 400)
	call("GET", "/v1/webhook-endpoints", readKey, "", 403)
	call("POST", "/v1/webhook-endpoints/"+epID+":test", readKey, `{}`, 403)
	call("GET", "/v1/webhook-endpoints/whe_nothing0000000000000", key, "", 404)
	call("POST", "/v1/webhook-endpoints/"+epID+"/deliveries/whd_nothing0000000000000:retry", key, `{}`, 404)
	call("DELETE", "/v1/webhook-endpoints/"+epID, key, "", 200)

	// The event log: every write above appended events; plan changes (the
	// CLI's operation) add workspace.updated. Every answer of GET
	// /v1/events is validated above; each event is also held to the Event
	// schema itself (the oneOf its discriminator picks: data as the type's
	// resource), and every type must have been seen, so that no variant goes
	// unchecked.
	env.SetPlan(wsID, ratelimit.Pro)
	env.SetPlan(wsID, ratelimit.Enterprise) // as it was, for the checks below
	// An endpoint whose receiver always fails is disabled after its
	// retries (10 ms apart here), which logs endpoint.disabled.
	failing := newReceiver(t, always(503))
	doomed := data(call("POST", "/v1/webhook-endpoints", key, `{"url":"`+failing.url+`","event_types":["project.created"]}`, 201))["id"].(string)
	gone := data(call("POST", "/v1/projects", key, `{"name":"Gone"}`, 201))["id"].(string)
	call("DELETE", "/v1/projects/"+gone, key, "", 200)
	waitUntil(t, "the failing endpoint disabled", func() bool {
		return data(call("GET", "/v1/webhook-endpoints/"+doomed, key, "", 200))["enabled"] == false
	})
	eventSchema := doc.Components.Schemas["v1Event"].Value
	seen := map[string]bool{}
	checkEvent := func(where string, ev any) {
		t.Helper()
		if err := eventSchema.VisitJSON(ev); err != nil {
			t.Errorf("%s: an event does not match the Event schema: %v\n%v", where, err, ev)
		}
		seen[ev.(map[string]any)["type"].(string)] = true
	}
	all := call("GET", "/v1/events?limit=100", key, "", 200)
	for _, ev := range all["data"].([]any) {
		checkEvent("GET /v1/events", ev)
	}
	for _, typ := range store.EventTypes() {
		if !seen[typ] {
			t.Errorf("no %s event among %d: the schema of its variant went unchecked", typ, len(all["data"].([]any)))
		}
	}
	// The Event schema is not vacuous: a task event whose data is not a
	// Task, a number for seq, an unknown type, a previous with a field the
	// resource has not, are refused.
	var taskEvent map[string]any
	for _, ev := range all["data"].([]any) {
		if ev.(map[string]any)["type"] == "task.updated" {
			taskEvent = ev.(map[string]any)
		}
	}
	for what, tamper := range map[string]func(ev map[string]any){
		"data not a task": func(ev map[string]any) { delete(ev["data"].(map[string]any), "title") },
		"project's data":  func(ev map[string]any) { ev["data"] = map[string]any{"id": "proj_x", "name": "x"} },
		"seq a number":    func(ev map[string]any) { ev["seq"] = 5 },
		"unknown type":    func(ev map[string]any) { ev["type"] = "task.exploded" },
		"previous field":  func(ev map[string]any) { ev["previous"] = map[string]any{"colour": "red"} },
	} {
		var ev map[string]any
		_ = json.Unmarshal(must(json.Marshal(taskEvent)), &ev)
		tamper(ev)
		if eventSchema.VisitJSON(ev) == nil {
			t.Errorf("%s: the Event schema accepts a wrong event", what)
		}
	}
	lastSeq := all["data"].([]any)[len(all["data"].([]any))-1].(map[string]any)["seq"].(string)
	first := call("GET", "/v1/events?limit=2&types=task.created,task.updated", key, "", 200)
	next, _ := first["pagination"].(map[string]any)["next_cursor"].(string)
	if next == "" {
		t.Fatalf("GET /v1/events?limit=2&types=…: no next_cursor in %v", first["pagination"])
	}
	call("GET", "/v1/events?limit=2&types=task.created,task.updated&cursor="+next, key, "", 200)
	call("GET", "/v1/events?after=3&limit=5", key, "", 200)
	call("GET", "/v1/events?after="+lastSeq, key, "", 200)
	call("GET", "/v1/events?types=task.exploded", key, "", 400)
	call("GET", "/v1/events?limit=1000", key, "", 400)
	call("GET", "/v1/events?after=-1", key, "", 400)
	call("GET", "/v1/events", "", "", 401)
	writeKey := env.NewKey(wsID, "write")
	call("GET", "/v1/events", writeKey, "", 403)
	// The stream: its status and headers against the document, each event's
	// data against the Event schema, and its framing as the document says.
	streamCall := func(path, key string, want, n int, headers ...string) (events []streamedEvent, refusal map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", env.BaseURL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res, err := env.HTTP.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		if res.StatusCode != want {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("GET %s: status %d, want %d: %s", path, res.StatusCode, want, b)
		}
		var body []byte
		if want == 200 {
			// The n events already in the log after the position, then stop.
			events = readStreamed(t, res.Body, n)
		} else {
			body, _ = io.ReadAll(res.Body)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("GET %s: not in the document: %v", path, err)
		}
		reqInput := &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		if want < 400 {
			if err := openapi3filter.ValidateRequest(context.Background(), reqInput); err != nil {
				t.Errorf("GET %s: the document refuses a request the server accepts: %v", path, err)
			}
		}
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: reqInput,
			Status:                 res.StatusCode,
			Header:                 res.Header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			// The stream's body is text/event-stream, which openapi3filter
			// cannot decode: its events are checked one by one below.
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: want == 200},
		})
		if err != nil {
			t.Errorf("GET %s → %d does not match the document: %v\n%s", path, res.StatusCode, err, body)
		}
		if want == 200 {
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("GET %s: Content-Type %q", path, ct)
			}
			for _, e := range events {
				var ev map[string]any
				if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
					t.Fatalf("GET %s: an event's data is not JSON: %q", path, e.data)
				}
				checkEvent("GET "+path, ev)
				if e.id != ev["seq"] || e.event != ev["type"] {
					t.Errorf("GET %s: id %q and event %q, but the data's seq %v and type %v", path, e.id, e.event, ev["seq"], ev["type"])
				}
			}
		} else {
			refusal = mustJSON(t, body)
			if err := errorSchema.VisitJSON(refusal); err != nil {
				t.Errorf("GET %s: body is not the Error schema: %v", path, err)
			}
		}
		op := "GET " + route.Path
		if exercised[op] == nil {
			exercised[op] = map[int]bool{}
		}
		exercised[op][res.StatusCode] = true
		return events, refusal
	}
	streamCall("/v1/events/stream", key, 200, len(all["data"].([]any)))
	created := call("GET", "/v1/events?after=2&types=task.created", key, "", 200)["data"].([]any)
	replayed, _ := streamCall("/v1/events/stream?types=task.created", key, 200, len(created), "Last-Event-ID", "2")
	for i := range replayed {
		if replayed[i].id != created[i].(map[string]any)["seq"] {
			t.Errorf("the stream after Last-Event-ID 2 of task.created: event %d is %s, the list's is %v", i, replayed[i].id, created[i].(map[string]any)["seq"])
		}
	}
	streamCall("/v1/events/stream?types=task.exploded", key, 400, 0)
	streamCall("/v1/events/stream?after=3", key, 400, 0, "Last-Event-ID", "2")
	streamCall("/v1/events/stream", "", 401, 0)
	streamCall("/v1/events/stream", writeKey, 403, 0)
	// The plan's bound on open streams: a free workspace's sixth is a 429
	// TOO_MANY_STREAMS.
	freeWS, freeKey := env.NewWorkspace("free", "read")
	for i := 0; i < ratelimit.Free.Streams; i++ {
		if _, refused := openSSE(t, env, freeKey, ""); refused != nil {
			t.Fatalf("stream %d of %s: %d %s", i+1, freeWS, refused.Status, refused.Body)
		}
	}
	if _, refusal := streamCall("/v1/events/stream", freeKey, 429, 0); refusal["error"].(map[string]any)["code"] != "TOO_MANY_STREAMS" {
		t.Errorf("the sixth stream of a free workspace: %v, want TOO_MANY_STREAMS", refusal)
	}
	// Retention: once the events are pruned, reading from before them is a
	// 410 EVENTS_EXPIRED, in the list and the stream.
	tail := call("GET", "/v1/events?after="+lastSeq, key, "", 200)
	n, _ := strconv.Atoi(lastSeq)
	head := strconv.Itoa(n + int(tail["pagination"].(map[string]any)["total"].(float64)))
	if _, err := env.Server.Store().PruneEvents(context.Background(), time.Now().Add(time.Hour), 500); err != nil {
		t.Fatal(err)
	}
	call("GET", "/v1/events?after=1", key, "", 410)
	streamCall("/v1/events/stream?after=1", key, 410, 0)
	streamCall("/v1/events/stream", key, 410, 0, "Last-Event-ID", "1")
	call("GET", "/v1/events?after="+head, key, "", 200)

	// Errors.
	call("POST", "/v1/projects", key, `{"description":"no name"}`, 400)
	call("POST", "/v1/projects", key, `{"name":`, 400)
	call("POST", "/v1/tasks", key, `{"title":"x","project_id":"`+proj+`","status":"later"}`, 400)
	call("GET", "/v1/tasks?limit=1000", key, "", 400)
	call("GET", "/v1/events?types=task.renamed", key, "", 400)
	call("PUT", "/v1/tasks/task_nothing00000000000", key, `{"bogus":1}`, 400)
	call("GET", "/v1/projects", "", "", 401)
	call("GET", "/v1/projects", "wsk_not_a_key", "", 401)
	call("POST", "/v1/projects", readKey, `{"name":"x"}`, 403)
	call("DELETE", "/v1/projects/"+proj, readKey, "", 403)
	call("GET", "/v1/api-keys", readKey, "", 403)
	call("POST", "/v1/api-keys", readKey, `{"scopes":["read"]}`, 403)
	call("GET", "/v1/projects/proj_nothing0000000000", key, "", 404)
	call("PATCH", "/v1/projects/proj_nothing0000000000", key, `{"name":"x"}`, 404)
	call("GET", "/v1/tasks/task_nothing00000000000", key, "", 404)
	call("DELETE", "/v1/tasks/"+task, key, "", 404)
	call("DELETE", "/v1/api-keys/key_nothing0000000000", key, "", 404)
	call("POST", "/v1/tasks", key, `{"title":"x","project_id":"proj_nothing0000000000"}`, 404)
	call("POST", "/v1/tasks:batchCreate", key, `{"tasks":[{"title":"x","project_id":"`+proj+`"},{"title":"x","project_id":"proj_nothing0000000000"}]}`, 404)
	call("POST", "/v1/tasks:batchCreate", key, `{"tasks":[{"title":"x","project_id":"`+proj+`"},{"title":"","project_id":"`+proj+`"}]}`, 400)
	call("POST", "/v1/tasks:batchCreate", key, `{"tasks":[]}`, 400)
	call("GET", "/v1/tasks:batchCreate", key, "", 405)
	call("GET", "/v1/nothing", key, "", 404)
	call("DELETE", "/v1/projects", key, "", 405)
	call("POST", "/v1/workspace", key, "", 405)
	call("POST", "/v1/openapi.json", "", "", 405)
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	call("POST", "/v1/projects", key, big, 413)
	call("PUT", "/v1/tasks/"+task, key, big, 413)
	call("POST", "/v1/tasks:batchCreate", key, `{"tasks":[{"title":"`+strings.Repeat("x", 1<<20)+`"}]}`, 413)
	// The rows a healthy store never produces, injected below the service.
	for fault, status := range map[error]int{store.ErrConflict: 409, servertest.ErrInjected: 500, store.ErrUnavailable: 503} {
		spy.FailCreateProject(fault)
		call("POST", "/v1/projects", key, `{"name":"x"}`, status)
	}
	spy.FailCreateProject(nil)
	call("DELETE", "/v1/projects/"+proj, key, "", 200)

	// 429: the first workspace is on the free plan, 60 a minute.
	for i := 0; i < 60; i++ {
		if r := env.REST("GET", "/v1/workspace", env.AdminKey, ""); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	call("GET", "/v1/workspace", env.AdminKey, "", 429)
	call("GET", "/v1/projects", env.AdminKey, "", 429)
	call("POST", "/v1/tasks", env.AdminKey, `{"title":"x","project_id":"`+proj+`"}`, 429)

	// The validator is not vacuous: a bare message without its envelope, and
	// an envelope without the rate-limit headers, are refused.
	req, _ := http.NewRequest("GET", env.BaseURL+"/v1/workspace", nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	good := env.REST("GET", "/v1/workspace", key, "")
	for what, resp := range map[string]struct {
		h http.Header
		b string
	}{
		"no envelope":   {good.Header, string(data(mustJSON(t, good.Body))["usage"].(map[string]any)["minute"].(map[string]any)["reset_at"].(string))},
		"no headers":    {http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"x"}}, string(good.Body)},
		"extra member":  {good.Header, strings.Replace(string(good.Body), `"success":true`, `"success":true,"extra":1`, 1)},
		"upper enum":    {good.Header, strings.Replace(string(good.Body), `"plan":"enterprise"`, `"plan":"ENTERPRISE"`, 1)},
		"camelCase key": {good.Header, strings.Replace(string(good.Body), `"created_at"`, `"createdAt"`, 1)},
		// The workspace's created_at, not the first `Z"` of the body: an id
		// may end in Z.
		"nanoseconds": {good.Header, regexp.MustCompile(`("created_at":"[^"]*)Z"`).ReplaceAllString(string(good.Body), `${1}.5Z"`)},
	} {
		err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 200, Header: resp.h, Body: io.NopCloser(strings.NewReader(resp.b)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		})
		if err == nil {
			t.Errorf("%s: the document accepts a wrong response", what)
		}
	}

	// Every operation of the document was exercised, with a success (the
	// SSE stream by streamCall).
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			statuses := exercised[method+" "+path]
			ok := false
			for s := range statuses {
				if op.Responses.Value(strconv.Itoa(s)) != nil && s < 300 {
					ok = true
				}
			}
			if !ok {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never answered with a success: %v", missing)
	}
}

// streamedEvent is one Server-Sent Event as its fields say it.
type streamedEvent struct{ id, event, data string }

// readStreamed reads n events from a text/event-stream body (fewer if it ends),
// checking that nothing but events and comment lines comes.
func readStreamed(t *testing.T, body io.Reader, n int) []streamedEvent {
	t.Helper()
	var events []streamedEvent
	var cur streamedEvent
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data == "" {
				continue
			}
			events = append(events, cur)
			if len(events) == n {
				return events
			}
			cur = streamedEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		default:
			t.Errorf("a line the document does not describe in an event stream: %q", line)
		}
	}
	return events
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
