package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

// rfc3339Times are instants across the years RFC 3339 writes, 0001 to 9999,
// in increasing order and at microsecond precision: each end, each side of
// the epoch and of the years int64 nanoseconds hold (1677-09-21T00:12:43.145224192Z
// to 2262-04-11T23:47:16.854775807Z), and a proleptic Gregorian leap day.
var rfc3339Times = []time.Time{
	time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
	time.Date(1600, 2, 29, 12, 0, 0, 0, time.UTC),
	time.Date(1677, 9, 21, 0, 12, 43, 145224000, time.UTC),
	time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
	time.Unix(0, 0).UTC(),
	time.Date(2262, 4, 11, 23, 47, 16, 854776000, time.UTC),
	time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
}

// testTimesRFC3339Range: every record's every time, anywhere in the range,
// is stored and read back as the same instant, and lists order by it.
func testTimesRFC3339Range(t *testing.T, s store.Store) {
	ctx := t.Context()
	first, last := rfc3339Times[0], rfc3339Times[len(rfc3339Times)-1]
	var workspaces []store.Workspace
	for i, at := range rfc3339Times {
		ws := newWorkspace(fmt.Sprintf("ws_%02d", i))
		ws.CreatedAt = at
		if err := s.CreateWorkspace(ctx, ws); err != nil {
			t.Fatalf("CreateWorkspace(created %s): %v", at.Format(time.RFC3339Nano), err)
		}
		workspaces = append(workspaces, ws)
	}
	for _, ws := range workspaces {
		got, err := s.GetWorkspace(ctx, ws.ID)
		if err != nil {
			t.Fatalf("GetWorkspace(%s): %v", ws.ID, err)
		}
		checkWorkspace(t, "workspace created "+ws.CreatedAt.Format(time.RFC3339Nano), got, ws)
	}

	ws := workspaces[0].ID
	var projects []store.Project
	var tasks []store.Task
	var keys []store.APIKey
	for i, at := range rfc3339Times {
		mirror := rfc3339Times[len(rfc3339Times)-1-i]
		p := newProject(ws, fmt.Sprintf("proj_%02d", i), at)
		p.UpdatedAt = mirror
		if err := s.CreateProject(ctx, p); err != nil {
			t.Fatalf("CreateProject(created %s): %v", at.Format(time.RFC3339Nano), err)
		}
		projects = append(projects, p)

		task := newTask(ws, projects[0].ID, fmt.Sprintf("task_%02d", i), "completed", at)
		task.UpdatedAt, task.DueAt, task.CompletedAt = mirror, ptr(mirror), ptr(at)
		if err := s.CreateTask(ctx, task); err != nil {
			t.Fatalf("CreateTask(created %s): %v", at.Format(time.RFC3339Nano), err)
		}
		tasks = append(tasks, task)

		k := newKey(ws, fmt.Sprintf("key_%02d", i), at)
		k.ExpiresAt = ptr(mirror)
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatalf("CreateAPIKey(created %s): %v", at.Format(time.RFC3339Nano), err)
		}
		keys = append(keys, k)
	}
	for _, p := range projects {
		got, err := s.GetProject(ctx, ws, p.ID)
		if err != nil {
			t.Fatalf("GetProject(%s): %v", p.ID, err)
		}
		checkProject(t, "project created "+p.CreatedAt.Format(time.RFC3339Nano), got, p)
	}
	for _, task := range tasks {
		got, err := s.GetTask(ctx, ws, task.ID)
		if err != nil {
			t.Fatalf("GetTask(%s): %v", task.ID, err)
		}
		checkTask(t, "task created "+task.CreatedAt.Format(time.RFC3339Nano), got, task)
	}
	for _, k := range keys {
		got, _, err := s.LookupAPIKey(ctx, k.Hash)
		if err != nil {
			t.Fatalf("LookupAPIKey(%s): %v", k.ID, err)
		}
		checkKey(t, "key created "+k.CreatedAt.Format(time.RFC3339Nano), got, k)
	}

	// Newest first, whichever side of the epoch or of 1677 and 2262.
	wantProjects := mapIDs(newestFirst(projects, projectKey), projectID)
	if want := []string{"proj_07", "proj_06", "proj_05", "proj_04", "proj_03", "proj_02", "proj_01", "proj_00"}; !slices.Equal(wantProjects, want) {
		t.Fatalf("rfc3339Times are not in increasing order: %q", wantProjects)
	}
	checkPages(t, "ListProjects", wantProjects, func(pg store.Page) ([]string, int, error) {
		got, total, err := s.ListProjects(ctx, ws, store.ProjectFilter{}, pg)
		return mapIDs(got, projectID), total, err
	})
	checkPages(t, "ListTasks", mapIDs(newestFirst(tasks, taskKey), taskID), func(pg store.Page) ([]string, int, error) {
		got, total, err := s.ListTasks(ctx, ws, store.TaskFilter{ProjectID: projects[0].ID, Status: "completed"}, pg)
		return mapIDs(got, taskID), total, err
	})
	checkPages(t, "ListAPIKeys", mapIDs(newestFirst(keys, apiKeyKey), keyID), func(pg store.Page) ([]string, int, error) {
		got, total, err := s.ListAPIKeys(ctx, ws, pg)
		return mapIDs(got, keyID), total, err
	})

	// Updates, touches and revocations write the ends of the range too.
	task, err := s.UpdateTask(ctx, ws, tasks[3].ID, func(tk *store.Task) error {
		tk.DueAt, tk.CompletedAt, tk.UpdatedAt = ptr(first), ptr(last), last
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	want := tasks[3]
	want.DueAt, want.CompletedAt, want.UpdatedAt = ptr(first), ptr(last), last
	checkTask(t, "updated task", task, want)
	if got, err := s.GetTask(ctx, ws, want.ID); err != nil {
		t.Fatalf("GetTask(%s): %v", want.ID, err)
	} else {
		checkTask(t, "updated task read back", got, want)
	}
	if _, err := s.UpdateProject(ctx, ws, projects[2].ID, func(p *store.Project) error { p.UpdatedAt = first; return nil }); err != nil {
		t.Fatalf("UpdateProject: %v", err)
	}
	if got, err := s.GetProject(ctx, ws, projects[2].ID); err != nil || !got.UpdatedAt.Equal(first) {
		t.Errorf("project updated at %s reads back %v, %v", first, got.UpdatedAt, err)
	}
	k := keys[4]
	for _, at := range []time.Time{first, last} {
		if err := s.TouchAPIKey(ctx, k.ID, at); err != nil {
			t.Fatalf("TouchAPIKey(%s): %v", at, err)
		}
	}
	if _, err := s.RevokeAPIKey(ctx, ws, k.ID, last); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	k.LastUsedAt, k.RevokedAt = ptr(last), ptr(last)
	got, err := s.GetAPIKey(ctx, k.ID)
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	checkKey(t, "key touched and revoked at the end of the range", got, k)

	// Idempotency records compare their times in the store: a record created
	// at the first instant is live for cut-offs at that instant.
	idem := newIdem(ws, "first", "f", first)
	checkIdem(t, "reserved at the first instant", reserve3339(t, s, idem, first, true), idem)
	checkIdem(t, "still live at the first instant", reserve3339(t, s, newIdem(ws, "first", "g", first), first, false), idem)
	if err := s.CompleteIdempotencyKey(ctx, ws, "first", []byte("r"), last); err != nil {
		t.Fatalf("CompleteIdempotencyKey: %v", err)
	}
	idem.Response, idem.CompletedAt = []byte("r"), ptr(last)
	checkIdem(t, "completed at the last instant", reserve3339(t, s, newIdem(ws, "first", "g", first), first, false), idem)
}

// reserve3339 reserves k with both cut-offs at cutoff.
func reserve3339(t *testing.T, s store.Store, k store.IdempotencyKey, cutoff time.Time, wantReserved bool) store.IdempotencyKey {
	t.Helper()
	got, reserved, err := s.ReserveIdempotencyKey(t.Context(), k, cutoff, cutoff)
	if err != nil {
		t.Fatalf("ReserveIdempotencyKey(%s/%s): %v", k.WorkspaceID, k.Key, err)
	}
	if reserved != wantReserved {
		t.Fatalf("ReserveIdempotencyKey(%s/%s): reserved = %v, want %v", k.WorkspaceID, k.Key, reserved, wantReserved)
	}
	return got
}
