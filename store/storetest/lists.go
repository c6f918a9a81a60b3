package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

// orders are every order a task list offers; projects take those without
// due_at.
var orders = []store.Order{
	{},
	{By: store.SortCreatedAt, Ascending: true},
	{By: store.SortUpdatedAt},
	{By: store.SortUpdatedAt, Ascending: true},
	{By: store.SortDueAt},
	{By: store.SortDueAt, Ascending: true},
}

func taskSortKey(t store.Task, by string) *time.Time {
	switch by {
	case store.SortUpdatedAt:
		return &t.UpdatedAt
	case store.SortDueAt:
		return t.DueAt
	}
	return &t.CreatedAt
}

func projectSortKey(p store.Project, by string) *time.Time {
	if by == store.SortUpdatedAt {
		return &p.UpdatedAt
	}
	return &p.CreatedAt
}

// sortBy sorts records as the store.Order documents: by key, ties by id, in
// the direction asked; records without a key last, by id in that direction.
func sortBy[T any](recs []T, o store.Order, key func(T, string) *time.Time, id func(T) string) []T {
	out := slices.Clone(recs)
	slices.SortFunc(out, func(a, b T) int {
		ka, kb := key(a, o.Field()), key(b, o.Field())
		switch {
		case ka == nil && kb != nil:
			return 1
		case ka != nil && kb == nil:
			return -1
		}
		c := 0
		if ka != nil {
			c = ka.Compare(*kb)
		}
		if c == 0 {
			c = cmp.Compare(id(a), id(b))
		}
		if !o.Ascending {
			c = -c
		}
		return c
	})
	return out
}

func positionOf[T any](r T, o store.Order, key func(T, string) *time.Time, id func(T) string) *store.Position {
	p := &store.Position{ID: id(r)}
	if k := key(r, o.Field()); k != nil {
		kc := *k
		p.Key = &kc
	}
	return p
}

// checkKeyset walks a list from its first page through each page's last
// position, with several page sizes: the pages must hold want in order, each
// record once, and each must report the total of the whole list.
func checkKeyset[T any](t *testing.T, what string, want []T, o store.Order, key func(T, string) *time.Time, id func(T) string,
	list func(store.Page) ([]T, int, error)) {
	t.Helper()
	for _, limit := range []int{1, 2, 3, 7, len(want) + 1} {
		var got []T
		var after *store.Position
		for range len(want) + 2 {
			page := store.Page{Limit: limit, Order: o, After: after}
			recs, total, err := list(page)
			if err != nil {
				t.Fatalf("%s %+v: %v", what, page, err)
			}
			if total != len(want) {
				t.Errorf("%s limit %d after %+v: total %d, want %d", what, limit, after, total, len(want))
			}
			got = append(got, recs...)
			if len(recs) < limit {
				break
			}
			after = positionOf(recs[len(recs)-1], o, key, id)
		}
		if g, w := mapIDs(got, id), mapIDs(want, id); !slices.Equal(g, w) {
			t.Errorf("%s: keyset pages of %d = %q, want %q", what, limit, g, w)
		}
	}
	// Offsets page in the same order.
	checkPages(t, what+" by offset", mapIDs(want, id), func(p store.Page) ([]string, int, error) {
		p.Order = o
		recs, total, err := list(p)
		return mapIDs(recs, id), total, err
	})
}

// listTasksFixture stores tasks whose keys tie (created_at in pairs,
// updated_at in threes, due_at in fours) and whose due dates are missing for
// every fifth, in two projects, with titles and descriptions to search.
func listTasksFixture(t *testing.T, s store.Store) (store.Workspace, []store.Project, []store.Task) {
	t.Helper()
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_lists")
	other := mustWorkspace(t, s, "ws_lists_other")
	op := mustProject(t, s, other.ID, "proj_other", at(0))
	// A twin of a matching task in another workspace: no filter lets it in.
	twin := newTask(other.ID, op.ID, "task_other", "todo", at(0))
	twin.Title = "Quarterly report"
	if err := s.CreateTask(ctx, twin); err != nil {
		t.Fatalf("CreateTask(other): %v", err)
	}
	ps := []store.Project{mustProject(t, s, ws.ID, "proj_a", at(0)), mustProject(t, s, ws.ID, "proj_b", at(1))}
	texts := [][2]string{
		{"Quarterly REPORT", "numbers for the board"},
		{"Fix login", "the report button is broken"},
		{"Ship 100% of it", "all_of_it"},
		{"Ship 1000 of it", "all of it"},
		{"Reporting pipeline", ""},
		{"Lunch", "Ünïcødé repORt"},
	}
	statuses := []string{"todo", "in_progress", "completed"}
	var tasks []store.Task
	// Ids out of creation order, so that the id tie-break is not the
	// insertion order.
	for i, c := range "mKcXaQzBnYpLdRv" {
		task := newTask(ws.ID, ps[i%2].ID, fmt.Sprintf("task_%c", c), statuses[i%3], at(1000*(i/2)))
		task.UpdatedAt = at(500 * (i / 3))
		task.DueAt = ptr(at(2000 * (i / 4)))
		if i%5 == 4 {
			task.DueAt = nil
		}
		task.Title, task.Description = texts[i%len(texts)][0], texts[i%len(texts)][1]
		if err := s.CreateTask(ctx, task); err != nil {
			t.Fatalf("CreateTask(%s): %v", task.ID, err)
		}
		tasks = append(tasks, task)
	}
	return ws, ps, tasks
}

func testTaskListOrders(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws, ps, tasks := listTasksFixture(t, s)
	for _, f := range []store.TaskFilter{{}, {ProjectID: ps[1].ID}, {Status: "todo"}} {
		for _, o := range orders {
			var match []store.Task
			for _, task := range tasks {
				if (f.ProjectID == "" || task.ProjectID == f.ProjectID) && (f.Status == "" || task.Status == f.Status) {
					match = append(match, task)
				}
			}
			want := sortBy(match, o, taskSortKey, taskID)
			what := fmt.Sprintf("ListTasks(%+v, %+v)", f, o)
			got, _, err := s.ListTasks(ctx, ws.ID, f, store.Page{Limit: 100, Order: o})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			checkRecords(t, what, got, want, taskID, checkTask)
			checkKeyset(t, what, want, o, taskSortKey, taskID, func(p store.Page) ([]store.Task, int, error) {
				return s.ListTasks(ctx, ws.ID, f, p)
			})
		}
	}
}

func testTaskListMoreFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws, ps, tasks := listTasksFixture(t, s)
	cut := at(4000)
	match := func(f store.TaskFilter, task store.Task) bool {
		contains := func(s string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(f.Query)) }
		return (f.ProjectID == "" || task.ProjectID == f.ProjectID) &&
			(f.Status == "" || task.Status == f.Status) &&
			(len(f.Statuses) == 0 || slices.Contains(f.Statuses, task.Status)) &&
			(f.DueBefore == nil || task.DueAt != nil && task.DueAt.Before(*f.DueBefore)) &&
			(f.DueAfter == nil || task.DueAt != nil && task.DueAt.After(*f.DueAfter)) &&
			(f.UpdatedAfter == nil || task.UpdatedAt.After(*f.UpdatedAfter)) &&
			(f.Query == "" || contains(task.Title) || contains(task.Description))
	}
	filters := []store.TaskFilter{
		{Statuses: []string{"todo", "completed"}},
		{Statuses: []string{"in_progress"}, ProjectID: ps[0].ID},
		{Status: "todo", Statuses: []string{"todo", "completed"}},
		{DueBefore: &cut},
		{DueAfter: &cut},
		{DueAfter: ptr(at(0)), DueBefore: ptr(at(6000))},
		{DueBefore: &cut, DueAfter: &cut},
		{UpdatedAfter: ptr(at(1500))},
		{UpdatedAfter: ptr(at(1000)), Statuses: []string{"todo"}},
		{Query: "report"},    // case-insensitive, in the title or the description
		{Query: "REPORT"},    // the same rows
		{Query: "ünïcødé"},   // beyond ASCII, as stored
		{Query: "100%"},      // % is a character, not a wildcard
		{Query: "l_of"},      // and so is _
		{Query: "ship 1000"}, // spaces are characters too
		{Query: "nowhere to be found"},
		{Query: "report", ProjectID: ps[1].ID, Statuses: []string{"todo", "in_progress"}},
		{Query: `"quoted"`},
	}
	for _, f := range filters {
		var want []store.Task
		for _, task := range tasks {
			if match(f, task) {
				want = append(want, task)
			}
		}
		for _, o := range []store.Order{{}, {By: store.SortDueAt, Ascending: true}} {
			want := sortBy(want, o, taskSortKey, taskID)
			what := fmt.Sprintf("ListTasks(%+v, %+v)", f, o)
			got, total, err := s.ListTasks(ctx, ws.ID, f, store.Page{Limit: 100, Order: o})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if total != len(want) {
				t.Errorf("%s: total %d, want %d", what, total, len(want))
			}
			checkRecords(t, what, got, want, taskID, checkTask)
			checkKeyset(t, what, want, o, taskSortKey, taskID, func(p store.Page) ([]store.Task, int, error) {
				return s.ListTasks(ctx, ws.ID, f, p)
			})
		}
	}

	// The search follows the text through updates and deletions.
	moved, err := s.UpdateTask(ctx, ws.ID, tasks[0].ID, func(task *store.Task) error {
		task.Title, task.Description = "Renamed", "nothing to see"
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	if err := s.DeleteTask(ctx, ws.ID, tasks[1].ID); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	if err := s.DeleteProject(ctx, ws.ID, ps[1].ID); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	var want []string
	for _, task := range tasks[2:] {
		if task.ProjectID == ps[0].ID && match(store.TaskFilter{Query: "report"}, task) {
			want = append(want, task.ID)
		}
	}
	want = mapIDs(sortBy(filterIDs(tasks, want), store.Order{}, taskSortKey, taskID), taskID)
	got, total, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{Query: "report"}, store.Page{Limit: 100})
	if err != nil || total != len(want) || !slices.Equal(mapIDs(got, taskID), want) {
		t.Errorf("ListTasks(report) after update and deletes = %q, %d, %v; want %q", mapIDs(got, taskID), total, err, want)
	}
	got, _, err = s.ListTasks(ctx, ws.ID, store.TaskFilter{Query: "renamed"}, store.Page{Limit: 100})
	if err != nil || !slices.Equal(mapIDs(got, taskID), []string{moved.ID}) {
		t.Errorf("ListTasks(renamed) = %q, %v; want [%s]", mapIDs(got, taskID), err, moved.ID)
	}
}

func filterIDs(tasks []store.Task, ids []string) []store.Task {
	var out []store.Task
	for _, t := range tasks {
		if slices.Contains(ids, t.ID) {
			out = append(out, t)
		}
	}
	return out
}

func testProjectListOrders(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_plists")
	other := mustWorkspace(t, s, "ws_plists_other")
	mustProject(t, s, other.ID, "proj_other_roadmap", at(0))
	names := []string{"Roadmap 2026", "Website", "ROADMAP archive", "Hiring"}
	var projects []store.Project
	for i, c := range "hCwAqZeT" {
		p := newProject(ws.ID, fmt.Sprintf("proj_%c", c), at(100*(i/2)))
		p.UpdatedAt = at(100 * (i / 3))
		p.Name = names[i%len(names)]
		if i == 5 {
			p.Description = "see the roadmap"
		}
		if err := s.CreateProject(ctx, p); err != nil {
			t.Fatalf("CreateProject: %v", err)
		}
		projects = append(projects, p)
	}
	for _, f := range []store.ProjectFilter{{}, {Query: "roadmap"}, {Query: "site"}, {Query: "none of these"}} {
		var match []store.Project
		for _, p := range projects {
			q := strings.ToLower(f.Query)
			if strings.Contains(strings.ToLower(p.Name), q) || strings.Contains(strings.ToLower(p.Description), q) {
				match = append(match, p)
			}
		}
		for _, o := range orders[:4] {
			want := sortBy(match, o, projectSortKey, projectID)
			what := fmt.Sprintf("ListProjects(%+v, %+v)", f, o)
			got, _, err := s.ListProjects(ctx, ws.ID, f, store.Page{Limit: 100, Order: o})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			checkRecords(t, what, got, want, projectID, checkProject)
			checkKeyset(t, what, want, o, projectSortKey, projectID, func(p store.Page) ([]store.Project, int, error) {
				return s.ListProjects(ctx, ws.ID, f, p)
			})
		}
	}
	// API keys page by position too, newest first.
	var keys []store.APIKey
	for i, c := range "kBmD" {
		keys = append(keys, mustKey(t, s, ws.ID, fmt.Sprintf("key_%c00", c), at(i/2)))
	}
	keyKey := func(k store.APIKey, _ string) *time.Time { return &k.CreatedAt }
	checkKeyset(t, "ListAPIKeys", sortBy(keys, store.Order{}, keyKey, keyID), store.Order{}, keyKey, keyID,
		func(p store.Page) ([]store.APIKey, int, error) { return s.ListAPIKeys(ctx, ws.ID, p) })
}

// testListRefusals: what a caller must not ask is an error, not a guess.
func testListRefusals(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_refuse")
	mustProject(t, s, ws.ID, "proj_r", at(0))
	after := &store.Position{Key: ptr(at(0)), ID: "x"}
	cases := map[string]error{}
	_, _, cases["projects by due_at"] = s.ListProjects(ctx, ws.ID, store.ProjectFilter{}, store.Page{Limit: 1, Order: store.Order{By: store.SortDueAt}})
	_, _, cases["api keys by updated_at"] = s.ListAPIKeys(ctx, ws.ID, store.Page{Limit: 1, Order: store.Order{By: store.SortUpdatedAt}})
	_, _, cases["tasks by title"] = s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 1, Order: store.Order{By: "title"}})
	_, _, cases["position with offset"] = s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 1, Offset: 1, After: after})
	_, _, cases["position without a created_at"] = s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 1, After: &store.Position{ID: "x"}})
	_, _, cases["two-character task search"] = s.ListTasks(ctx, ws.ID, store.TaskFilter{Query: "ab"}, store.Page{Limit: 1})
	_, _, cases["two-character project search"] = s.ListProjects(ctx, ws.ID, store.ProjectFilter{Query: "ab"}, store.Page{Limit: 1})
	for what, err := range cases {
		if err == nil {
			t.Errorf("%s: no error", what)
		}
	}
}
