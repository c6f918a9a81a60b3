package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/example/sdk"
	"github.com/example/sdk/internal/workspacedtest"
)

var srv *workspacedtest.Server

func TestMain(m *testing.M) {
	var err error
	srv, err = workspacedtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The examples use a workspace of their own, found through the
	// environment as a user's program would.
	_, exampleKey, err := srv.NewWorkspace("Examples", "pro")
	if err != nil {
		srv.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("WORKSPACE_GRPC_ADDR", srv.GRPCAddr)
	os.Setenv("API_KEY", exampleKey)
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

// scenario is sdk/scenario.json.
type scenario struct {
	Project struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"project"`
	TaskTitles []string `json:"task_titles"`
	PageSize   int      `json:"page_size"`
	Update     struct {
		Status string `json:"status"`
	} `json:"update"`
	MissingTaskID string `json:"missing_task_id"`
	ReadOnlyKey   struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	} `json:"read_only_key"`
	FreePlanPerMinute int `json:"free_plan_per_minute"`
	Batch             struct {
		Titles       []string `json:"titles"`
		InvalidIndex int      `json:"invalid_index"`
	} `json:"batch"`
}

func loadScenario(t *testing.T) scenario {
	t.Helper()
	b, err := os.ReadFile("../scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	var s scenario
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func newClient(t *testing.T, key string, opts ...sdk.Option) *sdk.Client {
	t.Helper()
	c, err := sdk.New(srv.GRPCAddr, key, append([]sdk.Option{sdk.WithInsecure()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func apiError(t *testing.T, err error, status codes.Code, code string) *sdk.Error {
	t.Helper()
	var e *sdk.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *sdk.Error", err, err)
	}
	if e.Status != status || e.Code != code || e.Message == "" || e.Details == nil || e.RequestID == "" {
		t.Fatalf("error %+v, want status %v code %s with a message, details and request id", e, status, code)
	}
	return e
}

// TestScenario is sdk/SCENARIO.md.
func TestScenario(t *testing.T) {
	sc := loadScenario(t)
	ctx := context.Background()
	c := newClient(t, srv.AdminKey)

	// 1. Create a project.
	p, err := c.Projects.Create(ctx, sc.Project.Name, sc.Project.Description)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.GetId(), "proj_") || p.GetName() != sc.Project.Name {
		t.Fatalf("project %v", p)
	}

	// 2. Create tasks.
	var created []string
	for _, title := range sc.TaskTitles {
		task, err := c.Tasks.Create(ctx, sdk.NewTask{ProjectID: p.GetId(), Title: title})
		if err != nil {
			t.Fatal(err)
		}
		if task.GetStatus() != "todo" {
			t.Fatalf("new task status %q", task.GetStatus())
		}
		created = append(created, task.GetId())
	}

	// 3. Page through them: newest first, each once.
	var got []string
	for task, err := range c.Tasks.All(ctx, sdk.TaskFilter{ProjectID: p.GetId()}, sc.PageSize) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, task.GetId())
	}
	if len(got) != len(created) {
		t.Fatalf("paged %d tasks, want %d", len(got), len(created))
	}
	for i := range got {
		if got[i] != created[len(created)-1-i] {
			t.Fatalf("page order %v, want the reverse of %v", got, created)
		}
	}
	page, pg, err := c.Tasks.List(ctx, sdk.TaskFilter{ProjectID: p.GetId()}, &sdk.ListOptions{Limit: sc.PageSize})
	if err != nil || len(page) != sc.PageSize || pg.GetTotal() != int32(len(created)) || !pg.GetHasMore() {
		t.Fatalf("first page: %d items, %v, %v", len(page), pg, err)
	}

	// 4. The seed's PUT: {"status":"completed"}.
	id := created[0]
	updated, err := c.Tasks.Update(ctx, id, &sdk.TaskUpdate{Status: proto.String(sc.Update.Status)})
	if err != nil {
		t.Fatal(err)
	}
	if updated.GetStatus() != "completed" || updated.GetCompletedAt() == nil || updated.GetTitle() != sc.TaskTitles[0] {
		t.Fatalf("updated task %v", updated)
	}

	// 5. Delete it.
	if err := c.Tasks.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}

	// 6. 404.
	_, err = c.Tasks.Get(ctx, id)
	apiError(t, err, codes.NotFound, sdk.CodeNotFound)
	_, err = c.Tasks.Get(ctx, sc.MissingTaskID)
	apiError(t, err, codes.NotFound, sdk.CodeNotFound)

	// 7. 403 with a read-only key made through the API.
	k, err := c.APIKeys.Create(ctx, sc.ReadOnlyKey.Name, sc.ReadOnlyKey.Scopes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.GetKey(), "wsk_") {
		t.Fatalf("created key has no secret: %v", k)
	}
	ro := newClient(t, k.GetKey())
	if _, _, err := ro.Projects.List(ctx, nil); err != nil {
		t.Fatalf("read-only list: %v", err)
	}
	_, err = ro.Projects.Create(ctx, "nope", "")
	e := apiError(t, err, codes.PermissionDenied, sdk.CodeForbidden)
	if e.Details["required_scope"] != "write" {
		t.Fatalf("403 details %v", e.Details)
	}

	// 8. 429 on a fresh free workspace.
	_, freeKey, err := srv.NewWorkspace("Scenario free", "free")
	if err != nil {
		t.Fatal(err)
	}
	noRetry := newClient(t, freeKey, sdk.WithRetries(0, 0))
	var limited *sdk.Error
	for i := 0; i < 2*sc.FreePlanPerMinute+5 && limited == nil; i++ {
		if _, err := noRetry.Workspace.Get(ctx); err != nil {
			limited = apiError(t, err, codes.ResourceExhausted, sdk.CodeRateLimited)
		}
	}
	if limited == nil {
		t.Fatal("never rate limited")
	}
	now := time.Now()
	rl := limited.RateLimit
	if limited.Details["window"] != "minute" || rl.Limit != sc.FreePlanPerMinute || rl.Remaining != 0 ||
		rl.Reset.Before(now.Add(-time.Second)) || rl.Reset.After(now.Add(61*time.Second)) ||
		rl.RetryAfter < time.Second || rl.RetryAfter > 60*time.Second || !limited.IsRateLimited() {
		t.Fatalf("429: %+v", limited)
	}
	// With retries on but a budget shorter than the wait: at once.
	short := newClient(t, freeKey, sdk.WithRetries(3, 0))
	start := time.Now()
	_, err = short.Workspace.Get(ctx)
	apiError(t, err, codes.ResourceExhausted, sdk.CodeRateLimited)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a retry beyond the budget waited %v", d)
	}

	// 9. Batch create: in order, all or nothing.
	var batch []sdk.NewTask
	for _, title := range sc.Batch.Titles {
		batch = append(batch, sdk.NewTask{ProjectID: p.GetId(), Title: title})
	}
	made, err := c.Tasks.BatchCreate(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != len(sc.Batch.Titles) {
		t.Fatalf("batch made %d tasks, want %d", len(made), len(sc.Batch.Titles))
	}
	ids := map[string]bool{}
	for i, task := range made {
		if task.GetTitle() != sc.Batch.Titles[i] || task.GetStatus() != "todo" || !strings.HasPrefix(task.GetId(), "task_") || ids[task.GetId()] {
			t.Fatalf("batch task %d: %v", i, task)
		}
		ids[task.GetId()] = true
	}
	_, pg, err = c.Tasks.List(ctx, sdk.TaskFilter{ProjectID: p.GetId()}, &sdk.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	total := pg.GetTotal()
	if want := int32(len(created) - 1 + len(made)); total != want {
		t.Fatalf("project holds %d tasks after the batch, want %d", total, want)
	}
	batch[sc.Batch.InvalidIndex].Title = " "
	_, err = c.Tasks.BatchCreate(ctx, batch)
	e = apiError(t, err, codes.InvalidArgument, sdk.CodeValidation)
	if want := fmt.Sprintf("tasks[%d].title", sc.Batch.InvalidIndex); e.Details["field"] != want {
		t.Fatalf("invalid batch: details %v, want field %s", e.Details, want)
	}
	if _, pg, err = c.Tasks.List(ctx, sdk.TaskFilter{ProjectID: p.GetId()}, &sdk.ListOptions{Limit: 1}); err != nil || pg.GetTotal() != total {
		t.Fatalf("after the refused batch: %v, %v; want total %d", pg, err, total)
	}
}
