package main

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/store/postgres/pgtest"
)

// restoreWithin is how soon after the database comes back the server must
// answer 200 again.
const restoreWithin = 10 * time.Second

// TestPostgresOutage runs workspaced on PostgreSQL through a proxy the test
// cuts: while the database is unreachable, REST answers 503 with the
// UNAVAILABLE envelope and gRPC UNAVAILABLE; within seconds of restoring,
// 200 again; and what was written before the cut is all there.
func TestPostgresOutage(t *testing.T) {
	if os.Getenv(pgtest.EnvURL) == "" {
		t.Skip("set " + pgtest.EnvURL + " to run the PostgreSQL outage test")
	}
	url, proxy := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	p := launch(t, []string{"WORKSPACE_DATABASE=" + url, "WORKSPACE_LOG_FORMAT=text"})
	p.wait(t)
	key := p.key
	if key == "" {
		t.Fatalf("no admin key printed:\n%s", p.log())
	}

	created := call(t, "POST", p.httpAddr, "/v1/projects", key, `{"name":"Before the cut"}`)
	if created.status != 201 {
		t.Fatalf("create before the cut: %d %v", created.status, created.body)
	}
	id := created.body["data"].(map[string]any)["id"].(string)

	conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	projects := workspacev1.NewProjectServiceClient(conn)
	grpcCtx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+key)

	proxy.Cut()
	// Reads and writes both reach the store (whether or not the key is in
	// the authenticator's cache, a key look-up would reach it too).
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/projects/" + id, ""},
		{"GET", "/v1/projects", ""},
		{"POST", "/v1/projects", `{"name":"During the cut"}`},
	} {
		a := call(t, r.method, p.httpAddr, r.path, key, r.body)
		e, _ := a.body["error"].(map[string]any)
		if a.status != 503 || a.body["success"] != false || e == nil || e["code"] != "UNAVAILABLE" || e["message"] == "" {
			t.Errorf("%s %s while the database is cut: %d %v; want 503 with the UNAVAILABLE envelope", r.method, r.path, a.status, a.body)
		}
	}
	ctx, cancel := context.WithTimeout(grpcCtx, 10*time.Second)
	_, err = projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: id})
	cancel()
	if status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC GetProject while the database is cut: %v, want UNAVAILABLE", err)
	}

	proxy.Restore()
	deadline := time.Now().Add(restoreWithin)
	for {
		a := call(t, "GET", p.httpAddr, "/v1/projects/"+id, key, "")
		if a.status == 200 {
			if name := a.body["data"].(map[string]any)["name"]; name != "Before the cut" {
				t.Errorf("project written before the cut: name %v, want %q", name, "Before the cut")
			}
			break
		}
		if a.status != 503 || time.Now().After(deadline) {
			t.Fatalf("GET after restoring the database: %d %v; want 200 within %v", a.status, a.body, restoreWithin)
		}
		time.Sleep(50 * time.Millisecond) // a poll against the deadline above
	}
	ctx, cancel = context.WithTimeout(grpcCtx, 10*time.Second)
	got, err := projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: id})
	cancel()
	if err != nil || got.GetProject().GetName() != "Before the cut" {
		t.Errorf("gRPC GetProject after restoring: %v, %v", got, err)
	}
	list := call(t, "GET", p.httpAddr, "/v1/projects", key, "")
	if list.status != 200 {
		t.Fatalf("list after restoring: %d %v", list.status, list.body)
	}
	var names []any
	for _, item := range list.body["data"].([]any) {
		names = append(names, item.(map[string]any)["name"])
	}
	if len(names) != 1 || names[0] != "Before the cut" {
		t.Errorf("projects after restoring: %v; want exactly the one written before the cut", names)
	}
	if again := call(t, "POST", p.httpAddr, "/v1/projects", key, `{"name":"After"}`); again.status != 201 {
		t.Errorf("create after restoring: %d %v", again.status, again.body)
	}
	// The log's lines reach stderr in batches, at most 50 ms late.
	p.waitLog(t, "UNAVAILABLE", 5*time.Second)
}
