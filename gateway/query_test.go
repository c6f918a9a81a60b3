package gateway

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/example/workspace/apimethod"
	"github.com/example/workspace/gen/openapi"
)

// The query parameters the gateway accepts on each route are exactly those
// the OpenAPI document names, with the same cardinality (an array parameter
// may repeat): both are read from the protos, and a client reading the
// document must not be refused a documented parameter nor be let through
// with an undocumented one.
func TestQueryRulesAreTheDocumentedParameters(t *testing.T) {
	table, err := apimethod.Load()
	if err != nil {
		t.Fatal(err)
	}
	rules := newQueryRules(table.Services())

	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	type param struct {
		Name   string `json:"name"`
		In     string `json:"in"`
		Schema struct {
			Type string `json:"type"`
		} `json:"schema"`
	}
	documented := map[string]map[string]bool{} // "GET /v1/tasks" → name → repeated
	for path, item := range doc.Paths {
		if path == SpecPath {
			continue // served by the gateway itself; its query string is ignored
		}
		for method, raw := range item {
			var op struct {
				Parameters []param `json:"parameters"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				continue // not an operation (a path-level member)
			}
			key := strings.ToUpper(method) + " " + path
			documented[key] = map[string]bool{}
			for _, p := range op.Parameters {
				if p.In == "query" {
					documented[key][p.Name] = p.Schema.Type == "array"
				}
			}
		}
	}

	accepted := map[string]map[string]bool{}
	for _, q := range rules {
		key := q.method + " " + q.template
		accepted[key] = map[string]bool{}
		for name, p := range q.params {
			accepted[key][name] = p.repeated
		}
		if !slices.IsSorted(q.names) || len(q.names) != len(q.params) {
			t.Errorf("%s: names %v do not list the parameters", key, q.names)
		}
	}
	for key, want := range documented {
		got, ok := accepted[key]
		if !ok {
			t.Errorf("%s is documented but has no query rule", key)
			continue
		}
		for name, repeated := range want {
			if r, ok := got[name]; !ok {
				t.Errorf("%s: documented parameter %q is refused", key, name)
			} else if r != repeated {
				t.Errorf("%s: parameter %q repeatable %v, documented %v", key, name, r, repeated)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s: parameter %q is accepted but not documented", key, name)
			}
		}
	}
	for key := range accepted {
		if _, ok := documented[key]; !ok {
			t.Errorf("%s has a query rule but is not documented", key)
		}
	}
	if len(accepted) < 10 {
		t.Fatalf("only %d routes have rules: %v", len(accepted), accepted)
	}
}

// The key a rule is found by is runtime.Pattern's spelling of the template.
func TestPatternString(t *testing.T) {
	for template, want := range map[string]string{
		"/v1/tasks":              "/v1/tasks",
		"/v1/tasks/{id}":         "/v1/tasks/{id=*}",
		"/v1/tasks:batchCreate":  "/v1/tasks:batchCreate",
		"/v1/{name=projects/*}":  "/v1/{name=projects/*}",
		"/v1/tasks/{id}:archive": "/v1/tasks/{id=*}:archive",
	} {
		if got := patternString(template); got != want {
			t.Errorf("patternString(%q) = %q, want %q", template, got, want)
		}
	}
}

// The check's cost on a list request's query string: it parses the query
// once more (grpc-gateway parses it again to populate the request).
func BenchmarkQueryCheck(b *testing.B) {
	table, err := apimethod.Load()
	if err != nil {
		b.Fatal(err)
	}
	q := newQueryRules(table.Services())["GET /v1/tasks"]
	if q == nil {
		b.Fatal("no rule for GET /v1/tasks")
	}
	const query = "limit=20&offset=40&project_id=proj_4kQ2n8ZrT1xWb7Lm&status=todo"
	b.ReportAllocs()
	for b.Loop() {
		if e := q.check("GET", query); e != nil {
			b.Fatal(e)
		}
	}
}
