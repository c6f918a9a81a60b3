package server_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
)

func TestPartialUpdates(t *testing.T) {
	env := servertest.Start(t)
	key := env.AdminKey
	p := env.REST("POST", "/v1/projects", key, `{"name":"Roadmap","description":"Q3"}`).JSON(t)["data"].(map[string]any)
	pid := p["id"].(string)
	other := env.REST("POST", "/v1/projects", key, `{"name":"Other"}`).JSON(t)["data"].(map[string]any)["id"].(string)
	created := env.REST("POST", "/v1/tasks", key, `{"project_id":"`+pid+`","title":"Write","description":"draft","due_at":"2026-04-01T09:00:00Z"}`)
	if created.Status != 201 {
		t.Fatalf("create task: %d %s", created.Status, created.Body)
	}
	task := created.JSON(t)["data"].(map[string]any)
	path := "/v1/tasks/" + task["id"].(string)

	for _, method := range []string{"PUT", "PATCH"} {
		t.Run(method, func(t *testing.T) {
			env.Clock.Advance(time.Second)
			now := env.Clock.Now().UTC().Format(time.RFC3339)
			steps := []struct {
				body string
				want map[string]any // fields that must change; every other stays
			}{
				{`{"title":"  Write more  "}`, map[string]any{"title": "Write more"}},
				{`{"status":"completed"}`, map[string]any{"status": "completed", "completed_at": now}},
				{`{"description":""}`, map[string]any{"description": ""}},
				{`{"status":"completed"}`, map[string]any{}}, // completed_at keeps its first time
				{`{"status":"in_progress"}`, map[string]any{"status": "in_progress", "completed_at": nil}},
				{`{"due_at":null}`, map[string]any{"due_at": nil}},
				{`{"due_at":"2026-05-01T10:00:00Z","project_id":"` + other + `"}`, map[string]any{"due_at": "2026-05-01T10:00:00Z", "project_id": other}},
				{`{"project_id":"` + pid + `","title":"Write","description":"draft","status":"todo"}`, map[string]any{"project_id": pid, "title": "Write", "description": "draft", "status": "todo"}},
			}
			before := env.REST("GET", path, key, "").JSON(t)["data"].(map[string]any)
			for _, s := range steps {
				r := env.REST(method, path, key, s.body)
				if r.Status != 200 {
					t.Fatalf("%s %s: %d %s", method, s.body, r.Status, r.Body)
				}
				got := r.JSON(t)["data"].(map[string]any)
				want := map[string]any{}
				for k, v := range before {
					want[k] = v
				}
				for k, v := range s.want {
					want[k] = v
				}
				want["updated_at"] = now
				// Every update is a new version (README "Conditional requests").
				var version int
				if _, err := fmt.Sscanf(fmt.Sprint(before["etag"]), `"%d"`, &version); err != nil {
					t.Fatalf("etag %v: %v", before["etag"], err)
				}
				want["etag"] = fmt.Sprintf(`"%d"`, version+1)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s %s:\n got %v\nwant %v", method, s.body, got, want)
				}
				if stored := env.REST("GET", path, key, "").JSON(t)["data"]; fmt.Sprint(stored) != fmt.Sprint(got) {
					t.Fatalf("GET after %s differs from its answer:\n%v\n%v", s.body, stored, got)
				}
				before = got
			}
			// Bodies that set nothing or refer to nothing valid change nothing.
			for _, bad := range []string{`{}`, ``, `{"title":""}`, `{"title":null}`, `{"id":"task_x"}`, `{"created_at":"2020-01-01T00:00:00Z"}`, `{"project_id":""}`} {
				if r := env.REST(method, path, key, bad); r.Status != 400 {
					t.Errorf("%s %q: %d %s, want 400", method, bad, r.Status, r.Body)
				}
			}
			if after := env.REST("GET", path, key, "").JSON(t)["data"]; fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("refused updates changed the task:\n%v\n%v", after, before)
			}
		})
	}

	t.Run("project", func(t *testing.T) {
		for _, method := range []string{"PUT", "PATCH"} {
			r := env.REST(method, "/v1/projects/"+pid, key, `{"description":"`+method+`"}`)
			got := r.JSON(t)["data"].(map[string]any)
			if r.Status != 200 || got["name"] != "Roadmap" || got["description"] != method {
				t.Errorf("%s project: %d %v", method, r.Status, got)
			}
		}
	})

	t.Run("gRPC", func(t *testing.T) {
		tasks := workspacev1.NewTaskServiceClient(env.Conn)
		ctx := env.Ctx(key)
		id := task["id"].(string)
		// No mask: the fields that are set are changed.
		resp, err := tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: id, Task: &workspacev1.TaskUpdate{
			Status: proto.String("completed"), DueAt: timestamppb.New(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Task; got.Status != "completed" || got.CompletedAt == nil || got.Title != "Write" || got.DueAt.AsTime().Month() != time.June {
			t.Errorf("update without mask: %v", got)
		}
		// A mask naming due_at with no value clears it; fields outside the mask stay.
		resp, err = tasks.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: id,
			Task:       &workspacev1.TaskUpdate{Title: proto.String("ignored")},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"due_at"}}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Task.DueAt != nil || resp.Task.Title != "Write" {
			t.Errorf("update with mask [due_at]: %v", resp.Task)
		}
		// Nothing set, or a mask naming a read-only field: refused.
		for _, req := range []*workspacev1.UpdateTaskRequest{
			{Id: id, Task: &workspacev1.TaskUpdate{}},
			{Id: id},
			{Id: id, Task: &workspacev1.TaskUpdate{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"created_at"}}},
		} {
			if _, err := tasks.UpdateTask(ctx, req); err == nil {
				t.Errorf("UpdateTask(%v) succeeded, want INVALID_ARGUMENT", req)
			}
		}
	})
}

func TestCreateTaskCompleted(t *testing.T) {
	env := servertest.Start(t)
	pid := env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"P"}`).JSON(t)["data"].(map[string]any)["id"].(string)
	r := env.REST("POST", "/v1/tasks", env.AdminKey, `{"project_id":"`+pid+`","title":"Done already","status":"completed"}`)
	got := r.JSON(t)["data"].(map[string]any)
	if r.Status != 201 || got["completed_at"] != env.Clock.Now().UTC().Format(time.RFC3339) {
		t.Errorf("created completed task: %d %v", r.Status, got)
	}
	// Deleting the project deletes its tasks.
	if r := env.REST("DELETE", "/v1/projects/"+pid, env.AdminKey, ""); r.Status != 200 || compact(t, string(r.Body)) != `{"success":true,"data":{"id":"`+pid+`","deleted":true}}` {
		t.Fatalf("delete project: %d %s", r.Status, r.Body)
	}
	if r := env.REST("GET", "/v1/tasks/"+got["id"].(string), env.AdminKey, ""); r.Status != 404 {
		t.Errorf("task of a deleted project: %d, want 404", r.Status)
	}
}
