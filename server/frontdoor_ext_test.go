package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// fdError checks that r is the contract's error envelope with status and code.
func fdError(t *testing.T, what string, r *servertest.Response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s: no X-Request-Id", what)
	}
	var body struct {
		Success *bool `json:"success"`
		Error   struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Details map[string]string `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Success == nil || *body.Success ||
		body.Error.Code != code || body.Error.Message == "" || body.Error.Details == nil {
		t.Errorf("%s: body %q, want the error envelope with code %s", what, r.Body, code)
	}
	var generic map[string]any
	_ = json.Unmarshal(r.Body, &generic)
	return generic
}

// TestTrailingDataAfterTheBody sends every write endpoint a valid body with
// something after it: only whitespace may follow the one JSON value, anything
// else is a 400 that changes nothing, counted like any other answer.
func TestTrailingDataAfterTheBody(t *testing.T) {
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	key := env.AdminKey
	r := env.REST("POST", "/v1/projects", key, `{"name":"base"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating the base project: %d %s", r.Status, r.Body)
	}
	pid := r.JSON(t)["data"].(map[string]any)["id"].(string)
	r = env.REST("POST", "/v1/tasks", key, `{"project_id":"`+pid+`","title":"base"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating the base task: %d %s", r.Status, r.Body)
	}
	tid := r.JSON(t)["data"].(map[string]any)["id"].(string)

	endpoints := []struct {
		method, path, body, list string
	}{
		{"POST", "/v1/projects", `{"name":"ok"}`, "/v1/projects"},
		{"PUT", "/v1/projects/" + pid, `{"name":"ok"}`, ""},
		{"PATCH", "/v1/projects/" + pid, `{"name":"ok"}`, ""},
		{"POST", "/v1/tasks", `{"project_id":"` + pid + `","title":"ok"}`, "/v1/tasks"},
		{"PUT", "/v1/tasks/" + tid, `{"title":"ok"}`, ""},
		{"PATCH", "/v1/tasks/" + tid, `{"title":"ok"}`, ""},
		{"POST", "/v1/api-keys", `{"name":"ok","scopes":["read"]}`, "/v1/api-keys"},
	}
	total := func(path string) float64 {
		r := env.REST("GET", path+"?limit=1", key, "")
		return r.JSON(t)["pagination"].(map[string]any)["total"].(float64)
	}
	for _, e := range endpoints {
		for _, trailer := range []string{" garbage", "{}", `{"name":"b"}`, "\x00", "\n\x00", " ,", "]", "\v", "\u00a0"} {
			what := e.method + " " + e.path + " " + e.body + strings.ReplaceAll(trailer, "\x00", `\0`)
			var before float64
			if e.list != "" {
				before = total(e.list)
			}
			r := env.REST(e.method, e.path, key, e.body+trailer)
			fdError(t, what, r, http.StatusBadRequest, "VALIDATION_ERROR")
			if r.Header.Get("X-RateLimit-Limit") == "" {
				t.Errorf("%s: no rate-limit headers on the 400", what)
			}
			if e.list != "" && total(e.list) != before {
				t.Errorf("%s: created something", what)
			}
		}
		// Whitespace after the value is JSON's own and stays accepted.
		r := env.REST(e.method, e.path, key, e.body+" \r\n\t")
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			t.Errorf("%s %s with trailing whitespace: %d %s", e.method, e.path, r.Status, r.Body)
		}
	}
	// Nothing of the refused updates landed.
	for _, path := range []string{"/v1/projects/" + pid, "/v1/tasks/" + tid} {
		r := env.REST("GET", path, key, "")
		data := r.JSON(t)["data"].(map[string]any)
		if data["name"] == "b" || data["title"] == "b" {
			t.Errorf("GET %s: %s", path, r.Body)
		}
	}
}
