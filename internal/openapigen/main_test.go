package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/example/workspace/store"
)

// generate runs the generator on the committed OpenAPI 2 input and returns the
// document it writes, decoded.
func generate(t *testing.T) map[string]any {
	t.Helper()
	out := t.TempDir()
	if err := run(filepath.Join("..", "..", "gen", "openapiv2", "workspace.swagger.json"), out); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(out, "workspace.openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "gen", "openapi", "workspace.openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, committed) {
		t.Error("gen/openapi/workspace.openapi.json is not what the generator writes: run ./scripts/generate.sh")
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// walk calls f on every object of the document with its JSON pointer.
func walk(v any, at string, f func(at string, obj map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(at, v)
		for k, child := range v {
			walk(child, at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), f)
		}
	case []any:
		for i, child := range v {
			walk(child, at+"/"+strconv.Itoa(i), f)
		}
	}
}

// The rules below are the ones Redocly's recommended set reported against the
// document (issue 15, item 15); .ci/run runs Redocly itself, these keep the
// same facts checked by go test.

// OpenAPI 3.0's nullable counts only beside a type (a $ref or allOf beside it
// is invalid): Redocly's nullable-type-sibling.
func TestNullableHasAType(t *testing.T) {
	walk(generate(t), "#", func(at string, obj map[string]any) {
		if obj["nullable"] == true && obj["type"] == nil {
			t.Errorf("%s: nullable without a type", at)
		}
	})
}

// Every schema is reached from an operation, a response or a header, directly
// or through other schemas: Redocly's no-unused-components.
func TestNoUnusedSchemas(t *testing.T) {
	doc := generate(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	reached := map[string]bool{}
	var from func(v any)
	from = func(v any) {
		walk(v, "", func(_ string, obj map[string]any) {
			ref, _ := obj["$ref"].(string)
			if name, ok := strings.CutPrefix(ref, "#/components/schemas/"); ok && !reached[name] {
				reached[name] = true
				from(schemas[name])
			}
		})
	}
	for key, v := range doc {
		if key != "components" {
			from(v)
		}
	}
	for key, v := range doc["components"].(map[string]any) {
		if key != "schemas" {
			from(v)
		}
	}
	for name := range schemas {
		if !reached[name] {
			t.Errorf("schema %s is reached from no operation", name)
		}
	}
}

// Every tag is described and every operation's tag is declared; every
// operation but GET /v1/openapi.json (which cannot fail with a 4xx) describes
// its 4xx answers; no server is a fixed host.
func TestTagsOperationsServers(t *testing.T) {
	doc := generate(t)
	declared := map[string]bool{}
	for _, tag := range doc["tags"].([]any) {
		tag := tag.(map[string]any)
		if tag["description"] == nil || tag["description"] == "" {
			t.Errorf("tag %v has no description", tag["name"])
		}
		declared[tag["name"].(string)] = true
	}
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			op := op.(map[string]any)
			for _, tag := range op["tags"].([]any) {
				if !declared[tag.(string)] {
					t.Errorf("%s %s: tag %v is not declared", method, path, tag)
				}
			}
			has4xx := false
			for status := range op["responses"].(map[string]any) {
				has4xx = has4xx || strings.HasPrefix(status, "4")
			}
			if want := path != specPath; has4xx != want {
				t.Errorf("%s %s: has a 4xx response: %v, want %v", method, path, has4xx, want)
			}
		}
	}
	servers := doc["servers"].([]any)
	if len(servers) != 1 || servers[0].(map[string]any)["url"] != "/" {
		t.Errorf("servers: %v, want the one relative URL /", servers)
	}
}

// The event log (issue 13): Event is a oneOf chosen by its type, with a
// mapping for every event type to the variant whose data is that type's
// resource; seq is a decimal string.
func TestEventSchemas(t *testing.T) {
	doc := generate(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	event := schemas[eventSchema].(map[string]any)
	disc := event["discriminator"].(map[string]any)
	if disc["propertyName"] != "type" {
		t.Fatalf("Event's discriminator: %v", disc)
	}
	mapping := disc["mapping"].(map[string]any)
	oneOf := map[string]bool{}
	for _, r := range event["oneOf"].([]any) {
		oneOf[r.(map[string]any)["$ref"].(string)] = true
	}
	for _, typ := range store.EventTypes() {
		ref, _ := mapping[typ].(string)
		if !oneOf[ref] {
			t.Errorf("event type %s maps to %q, which is not one of Event's oneOf %v", typ, ref, oneOf)
			continue
		}
		variant := schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		props := variant["properties"].(map[string]any)
		if !slices.Contains(props["type"].(map[string]any)["enum"].([]any), any(typ)) {
			t.Errorf("%s: its type enum %v lacks %s", ref, props["type"], typ)
		}
		res, _, _ := strings.Cut(typ, ".")
		if want := "#/components/schemas/" + eventResources[res].schema; props["data"].(map[string]any)["$ref"] != want {
			t.Errorf("%s: data is %v, want %s", ref, props["data"], want)
		}
		prev := schemas[strings.TrimPrefix(props["previous"].(map[string]any)["$ref"].(string), "#/components/schemas/")].(map[string]any)
		if prev["nullable"] != true || prev["required"] != nil {
			t.Errorf("%s: previous must be a nullable object with no required field: %v", ref, prev)
		}
		if seq := props["seq"].(map[string]any); seq["type"] != "string" || seq["pattern"] != "^[0-9]+$" {
			t.Errorf("%s: seq is %v, want a decimal string", ref, seq)
		}
	}
	if len(mapping) != len(store.EventTypes()) {
		t.Errorf("mapping %v: want exactly the event types %v", mapping, store.EventTypes())
	}
	if _, ok := schemas["WorkspaceState"].(map[string]any)["properties"].(map[string]any)["usage"]; ok {
		t.Error("a workspace event's data has no usage")
	}
}

// GET /v1/events/stream is Server-Sent Events, not buf's JSON of
// {"result": …}; every write's success carries X-Event-Seq.
func TestEventOperations(t *testing.T) {
	doc := generate(t)
	paths := doc["paths"].(map[string]any)
	stream := paths["/v1/events/stream"].(map[string]any)["get"].(map[string]any)
	responses := stream["responses"].(map[string]any)
	content := responses["200"].(map[string]any)["content"].(map[string]any)
	if _, ok := content["text/event-stream"]; !ok || len(content) != 1 {
		t.Errorf("the stream's 200 is %v, want text/event-stream only", content)
	}
	for status, ref := range map[string]string{"410": "EventsExpired", "429": "TooManyStreams", "400": "BadRequest", "401": "Unauthorized", "403": "Forbidden"} {
		if got := responses[status].(map[string]any)["$ref"]; got != "#/components/responses/"+ref {
			t.Errorf("the stream's %s is %v, want %s", status, got, ref)
		}
	}
	params := map[string]string{}
	for _, p := range stream["parameters"].([]any) {
		p := p.(map[string]any)
		params[p["name"].(string)] = p["in"].(string)
	}
	if want := map[string]string{"after": "query", "types": "query", "Last-Event-ID": "header"}; !maps.Equal(params, want) {
		t.Errorf("the stream's parameters: %v, want %v", params, want)
	}
	list := paths["/v1/events"].(map[string]any)["get"].(map[string]any)["responses"].(map[string]any)
	if list["410"] == nil {
		t.Error("GET /v1/events has no 410")
	}
	writes := 0
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			if method == "get" {
				continue
			}
			for status, r := range op.(map[string]any)["responses"].(map[string]any) {
				if !strings.HasPrefix(status, "2") {
					continue
				}
				writes++
				_, ok := r.(map[string]any)["headers"].(map[string]any)["X-Event-Seq"]
				if webhook := strings.HasPrefix(path, "/v1/webhook-endpoints"); ok == webhook {
					t.Errorf("%s %s %s: X-Event-Seq declared %v; webhook endpoints' writes log nothing, every other write does", method, path, status, ok)
				}
			}
		}
	}
	if writes == 0 {
		t.Fatal("no writes in the document")
	}
}
