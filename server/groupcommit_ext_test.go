package server_test

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// Creates over REST share commits even when the server has a single core:
// the group committer must not end up committing HTTP/1.1 requests one at a
// time. The writes a commit come from the server's own metrics.
func TestRESTCreatesShareCommitsOnOneCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	pid := env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"Grouped"}`).JSON(t)["data"].(map[string]any)["id"].(string)

	before := scrape(t, env)
	commits0, _ := value(before, "workspace_store_group_commits_total", nil)
	writes0, _ := value(before, "workspace_store_group_committed_writes_total", nil)

	const clients, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for i := 0; i < each; i++ {
				req, _ := http.NewRequest("POST", env.BaseURL+"/v1/tasks", strings.NewReader(`{"title":"t","project_id":"`+pid+`"}`))
				req.Header.Set("Authorization", "Bearer "+env.AdminKey)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errs <- resp.Status
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}

	after := scrape(t, env)
	commits1, ok1 := value(after, "workspace_store_group_commits_total", nil)
	writes1, ok2 := value(after, "workspace_store_group_committed_writes_total", nil)
	if !ok1 || !ok2 {
		t.Fatal("the group-commit metrics are missing")
	}
	commits, writes := commits1-commits0, writes1-writes0
	if writes < clients*each {
		t.Fatalf("%v writes committed, want at least the %d creates", writes, clients*each)
	}
	t.Logf("%v writes in %v commits: %.1f a commit", writes, commits, writes/commits)
	if writes/commits < 4 {
		t.Errorf("%v writes took %v commits: fewer than 4 writes a commit on one core", writes, commits)
	}
}
