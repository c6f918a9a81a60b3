package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// lstTask is a task as the test knows it.
type lstTask struct {
	id, project, status, title string
	created, updated           time.Time
	due                        *time.Time
}

// lstFixture creates, over REST, tasks in two projects whose created_at,
// updated_at and due_at tie in places (the clock stands still between some)
// and some of which have no due date.
func lstFixture(t *testing.T, env *servertest.Env, key string) (projects []string, tasks []lstTask) {
	t.Helper()
	for _, name := range []string{"Roadmap 2027", "Website relaunch"} {
		env.Clock.Advance(time.Second)
		r := env.REST(http.MethodPost, "/v1/projects", key, fmt.Sprintf(`{"name": %q, "description": "the roadmap"}`, name))
		if r.Status != http.StatusCreated {
			t.Fatalf("POST /v1/projects: %d %s", r.Status, r.Body)
		}
		projects = append(projects, r.JSON(t)["data"].(map[string]any)["id"].(string))
	}
	titles := []string{"Quarterly REPORT", "Fix login", "Ship 100% of it", "Report pipeline", "Lunch"}
	statuses := []string{"todo", "in_progress", "completed"}
	for i := range 11 {
		if i%3 != 2 {
			env.Clock.Advance(time.Second)
		}
		body := map[string]any{"project_id": projects[i%2], "title": titles[i%len(titles)], "status": statuses[i%3]}
		var due *time.Time
		if i%4 != 3 {
			d := servertest.Epoch.Add(time.Duration(i/2) * time.Hour)
			due = &d
			body["due_at"] = d.Format(time.RFC3339)
		}
		b, _ := json.Marshal(body)
		r := env.REST(http.MethodPost, "/v1/tasks", key, string(b))
		if r.Status != http.StatusCreated {
			t.Fatalf("POST /v1/tasks: %d %s", r.Status, r.Body)
		}
		id := r.JSON(t)["data"].(map[string]any)["id"].(string)
		tasks = append(tasks, lstTask{id: id, project: projects[i%2], status: statuses[i%3], title: titles[i%len(titles)],
			created: env.Clock.Now(), updated: env.Clock.Now(), due: due})
	}
	// Later edits, some at the same instant, reorder updated_at.
	env.Clock.Advance(time.Minute)
	for _, i := range []int{4, 0, 9} {
		r := env.REST(http.MethodPatch, "/v1/tasks/"+tasks[i].id, key, `{"description": "edited"}`)
		if r.Status != http.StatusOK {
			t.Fatalf("PATCH: %d %s", r.Status, r.Body)
		}
		tasks[i].updated = env.Clock.Now()
	}
	return projects, tasks
}

// lstSorted is the order_by contract, computed by the test.
func lstSorted(tasks []lstTask, field string, asc bool) []string {
	key := func(t lstTask) *time.Time {
		switch field {
		case "updated_at":
			return &t.updated
		case "due_at":
			return t.due
		}
		return &t.created
	}
	s := slices.Clone(tasks)
	slices.SortFunc(s, func(a, b lstTask) int {
		ka, kb := key(a), key(b)
		if (ka == nil) != (kb == nil) {
			if ka == nil {
				return 1 // no due date: last, whatever the direction
			}
			return -1
		}
		c := 0
		if ka != nil {
			c = ka.Compare(*kb)
		}
		if c == 0 {
			c = strings.Compare(a.id, b.id)
		}
		if !asc {
			c = -c
		}
		return c
	})
	out := make([]string, len(s))
	for i, t := range s {
		out[i] = t.id
	}
	return out
}

// lstPage is one page as either surface returned it.
type lstPage struct {
	ids           []string
	total, offset int
	hasMore       bool
	next          string // "" when absent
}

func lstRESTPage(t *testing.T, env *servertest.Env, key, path string) lstPage {
	t.Helper()
	r := env.REST(http.MethodGet, path, key, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var body struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Pagination struct {
			Total      int     `json:"total"`
			Offset     int     `json:"offset"`
			HasMore    bool    `json:"has_more"`
			NextCursor *string `json:"next_cursor"`
		} `json:"pagination"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(r.Body, &raw)
	if _, top := raw["next_page_token"]; top || len(raw) != 3 {
		t.Errorf("GET %s: envelope is not {success, data, pagination}: %s", path, r.Body)
	}
	p := lstPage{total: body.Pagination.Total, offset: body.Pagination.Offset, hasMore: body.Pagination.HasMore}
	if body.Pagination.NextCursor != nil {
		p.next = *body.Pagination.NextCursor
		if p.next == "" {
			t.Errorf("GET %s: next_cursor is empty", path)
		}
	}
	for _, d := range body.Data {
		p.ids = append(p.ids, d.ID)
	}
	return p
}

func lstGRPCPage(t *testing.T, c extClients, env *servertest.Env, key string, req *workspacev1.ListTasksRequest) lstPage {
	t.Helper()
	resp, err := c.tasks.ListTasks(env.Ctx(key), req)
	if err != nil {
		t.Fatalf("ListTasks(%v): %v", req, err)
	}
	if resp.GetPagination().NextCursor != nil {
		t.Errorf("ListTasks: gRPC pagination carries next_cursor; the token is next_page_token")
	}
	p := lstPage{total: int(resp.GetPagination().GetTotal()), offset: int(resp.GetPagination().GetOffset()),
		hasMore: resp.GetPagination().GetHasMore(), next: resp.GetNextPageToken()}
	if resp.NextPageToken != nil && p.next == "" {
		t.Errorf("ListTasks: next_page_token set but empty")
	}
	for _, task := range resp.GetData() {
		p.ids = append(p.ids, task.GetId())
	}
	return p
}

// lstWalk follows next cursors from the first page and checks each page.
func lstWalk(t *testing.T, what string, want []string, fetch func(cursor string) lstPage) {
	t.Helper()
	var got []string
	cursor := ""
	for range len(want) + 2 {
		p := fetch(cursor)
		if p.total != len(want) {
			t.Errorf("%s: total %d, want %d", what, p.total, len(want))
		}
		if p.offset != 0 {
			t.Errorf("%s: offset %d on a cursor walk, want 0", what, p.offset)
		}
		if p.hasMore != (p.next != "") {
			t.Errorf("%s: has_more %v but next cursor %q", what, p.hasMore, p.next)
		}
		got = append(got, p.ids...)
		if p.next == "" {
			break
		}
		cursor = p.next
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: walked\n  %v\nwant\n  %v", what, got, want)
	}
}

// TestCursorPagination walks every order of the task list, and the project
// and key lists, by cursor on both surfaces: every row once, in the order the
// contract gives, the last page without a cursor.
func TestCursorPagination(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		key := env.AdminKey
		c := extNewClients(env)
		projects, tasks := lstFixture(t, env, key)
		orders := []struct {
			orderBy, field string
			asc            bool
		}{
			{"", "created_at", false}, {"created_at desc", "created_at", false}, {"created_at", "created_at", true},
			{"created_at asc", "created_at", true}, {"updated_at desc", "updated_at", false}, {"updated_at", "updated_at", true},
			{"due_at", "due_at", true}, {"due_at desc", "due_at", false},
		}
		for _, o := range orders {
			want := lstSorted(tasks, o.field, o.asc)
			for _, limit := range []int{1, 3, 11, 100} {
				what := fmt.Sprintf("REST order_by=%q limit=%d", o.orderBy, limit)
				lstWalk(t, what, want, func(cursor string) lstPage {
					q := url.Values{"limit": {fmt.Sprint(limit)}}
					if o.orderBy != "" {
						q.Set("order_by", o.orderBy)
					}
					if cursor != "" {
						q.Set("cursor", cursor)
					}
					return lstRESTPage(t, env, key, "/v1/tasks?"+q.Encode())
				})
				what = fmt.Sprintf("gRPC order_by=%q limit=%d", o.orderBy, limit)
				lstWalk(t, what, want, func(cursor string) lstPage {
					return lstGRPCPage(t, c, env, key, &workspacev1.ListTasksRequest{Limit: proto.Int32(int32(limit)), OrderBy: o.orderBy, PageToken: cursor})
				})
			}
			// An offset page in the same order is the same slice, and its
			// cursor continues after it.
			q := url.Values{"limit": {"4"}, "offset": {"2"}, "order_by": {o.orderBy}}
			p := lstRESTPage(t, env, key, "/v1/tasks?"+q.Encode())
			if !slices.Equal(p.ids, want[2:6]) || p.offset != 2 || !p.hasMore || p.next == "" {
				t.Errorf("order_by=%q offset 2: %+v, want %v with a next cursor", o.orderBy, p, want[2:6])
			}
			q = url.Values{"limit": {"100"}, "order_by": {o.orderBy}, "cursor": {p.next}}
			if rest := lstRESTPage(t, env, key, "/v1/tasks?"+q.Encode()); !slices.Equal(rest.ids, want[6:]) || rest.next != "" || rest.hasMore {
				t.Errorf("order_by=%q after offset 2 limit 4: %+v, want %v and no cursor", o.orderBy, rest, want[6:])
			}
		}
		// With a filter, the walk covers the filter's rows.
		var inP1 []lstTask
		for _, task := range tasks {
			if task.project == projects[1] {
				inP1 = append(inP1, task)
			}
		}
		lstWalk(t, "project_id due_at desc", lstSorted(inP1, "due_at", false), func(cursor string) lstPage {
			q := url.Values{"limit": {"2"}, "project_id": {projects[1]}, "order_by": {"due_at desc"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			return lstRESTPage(t, env, key, "/v1/tasks?"+q.Encode())
		})

		// Projects and keys page by cursor too; gRPC keys take page_token.
		for _, path := range []string{"/v1/projects", "/v1/api-keys"} {
			all := lstRESTPage(t, env, key, path+"?limit=100")
			lstWalk(t, path, all.ids, func(cursor string) lstPage {
				q := url.Values{"limit": {"1"}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				return lstRESTPage(t, env, key, path+"?"+q.Encode())
			})
		}
		first, err := c.keys.ListApiKeys(env.Ctx(key), &workspacev1.ListApiKeysRequest{Limit: proto.Int32(1)})
		if err != nil || first.NextPageToken != nil {
			t.Errorf("ListApiKeys(limit 1) with one key: next_page_token %v, %v; want none", first.GetNextPageToken(), err)
		}
		projAsc, err := c.projects.ListProjects(env.Ctx(key), &workspacev1.ListProjectsRequest{Limit: proto.Int32(1), OrderBy: "updated_at asc"})
		if err != nil || len(projAsc.GetData()) != 1 || projAsc.GetData()[0].GetId() != projects[0] || projAsc.NextPageToken == nil {
			t.Fatalf("ListProjects(updated_at asc, limit 1) = %v, %v", projAsc, err)
		}
		projNext, err := c.projects.ListProjects(env.Ctx(key), &workspacev1.ListProjectsRequest{Limit: proto.Int32(1), OrderBy: "updated_at asc", PageToken: projAsc.GetNextPageToken()})
		if err != nil || len(projNext.GetData()) != 1 || projNext.GetData()[0].GetId() != projects[1] || projNext.NextPageToken != nil {
			t.Errorf("ListProjects(updated_at asc, second page) = %v, %v", projNext, err)
		}
	})
}

// TestCursorMisuse: a cursor reused with other filters or another order,
// garbled, edited, from another list or workspace, or beside offset is a 400
// naming cursor on REST and INVALID_ARGUMENT naming it on gRPC.
func TestCursorMisuse(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		key := env.AdminKey
		c := extNewClients(env)
		projects, _ := lstFixture(t, env, key)
		p := lstRESTPage(t, env, key, "/v1/tasks?limit=2&status=todo,completed")
		if p.next == "" {
			t.Fatal("no next cursor on the first page")
		}
		raw, err := base64.RawURLEncoding.DecodeString(p.next)
		if err != nil {
			t.Fatalf("cursor %q is not base64url: %v", p.next, err)
		}
		raw[len(raw)/2] ^= 0x20
		edited := base64.RawURLEncoding.EncodeToString(raw)
		projPage := lstRESTPage(t, env, key, "/v1/projects?limit=1")
		otherWS, otherKey := env.NewWorkspace("enterprise")
		_ = otherWS
		cases := []struct{ name, query string }{
			{"other status", "status=todo&cursor=" + p.next},
			{"no filter", "cursor=" + p.next},
			{"other project", "status=todo,completed&project_id=" + projects[0] + "&cursor=" + p.next},
			{"other order", "status=todo,completed&order_by=created_at&cursor=" + p.next},
			{"other search", "status=todo,completed&q=report&cursor=" + p.next},
			{"with offset", "status=todo,completed&offset=0&cursor=" + p.next},
			{"garbled", "status=todo,completed&cursor=" + p.next[:len(p.next)-4] + "%21%21"},
			{"edited", "status=todo,completed&cursor=" + edited},
			{"a project cursor", "cursor=" + projPage.next},
			{"an offset", "cursor=20"},
		}
		for _, tc := range cases {
			path := "/v1/tasks?limit=2&" + tc.query
			r := env.REST(http.MethodGet, path, key, "")
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s: GET %s: %d %s, want 400", tc.name, path, r.Status, r.Body)
				continue
			}
			if code, _, details := extRESTError(t, r); code != "VALIDATION_ERROR" || !extDetailsEqual(details, map[string]string{"field": "cursor"}) {
				t.Errorf("%s: error %s %v, want VALIDATION_ERROR naming cursor", tc.name, code, details)
			}
		}
		// The same status list in another spelling is the same filter.
		if r := env.REST(http.MethodGet, "/v1/tasks?limit=2&status=completed,todo,todo&cursor="+p.next, key, ""); r.Status != http.StatusOK {
			t.Errorf("the same statuses reordered: %d %s, want 200", r.Status, r.Body)
		}
		// Another workspace's key cannot continue this workspace's list.
		if r := env.REST(http.MethodGet, "/v1/tasks?limit=2&status=todo,completed&cursor="+p.next, otherKey, ""); r.Status != http.StatusBadRequest {
			t.Errorf("another workspace's cursor: %d %s, want 400", r.Status, r.Body)
		}

		first := lstGRPCPage(t, c, env, key, &workspacev1.ListTasksRequest{Limit: proto.Int32(2), OrderBy: "due_at"})
		grpcCases := map[string]*workspacev1.ListTasksRequest{
			"other order":         {Limit: proto.Int32(2), OrderBy: "due_at desc", PageToken: first.next},
			"other status":        {Limit: proto.Int32(2), OrderBy: "due_at", Status: "todo", PageToken: first.next},
			"with offset":         {Limit: proto.Int32(2), OrderBy: "due_at", Offset: proto.Int32(0), PageToken: first.next},
			"garbled":             {Limit: proto.Int32(2), OrderBy: "due_at", PageToken: "x" + first.next},
			"REST's other filter": {Limit: proto.Int32(2), OrderBy: "due_at", PageToken: p.next},
		}
		for name, req := range grpcCases {
			_, err := c.tasks.ListTasks(env.Ctx(key), req)
			pgxCheckValidationGRPC(t, "ListTasks "+name, err, "cursor")
		}
		_, err = c.keys.ListApiKeys(env.Ctx(key), &workspacev1.ListApiKeysRequest{PageToken: first.next})
		pgxCheckValidationGRPC(t, "ListApiKeys(a task cursor)", err, "cursor")
	})
}

// TestListOrderAndFilterErrors: order_by outside its syntax and filters out of
// range are 400s naming them, on both surfaces.
func TestListOrderAndFilterErrors(t *testing.T) {
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	key := env.AdminKey
	c := extNewClients(env)
	cases := []struct{ path, field string }{
		{"/v1/tasks?order_by=title", "order_by"},
		{"/v1/tasks?order_by=created_at+up", "order_by"},
		{"/v1/tasks?order_by=created_at+desc+asc", "order_by"},
		{"/v1/tasks?order_by=CREATED_AT", "order_by"},
		{"/v1/tasks?order_by=created_at+DESC", "order_by"},
		{"/v1/tasks?order_by=-created_at", "order_by"},
		{"/v1/projects?order_by=due_at", "order_by"},
		{"/v1/projects?order_by=name", "order_by"},
		{"/v1/tasks?status=todo,bogus", "status"},
		{"/v1/tasks?status=todo,", "status"},
		{"/v1/tasks?due_before=tomorrow", "due_before"},
		{"/v1/tasks?due_after=2026-13-01T00:00:00Z", "due_after"},
		{"/v1/tasks?updated_after=1700000000", "updated_after"},
		{"/v1/tasks?q=ab", "q"},
		{"/v1/tasks?q=+ab+", "q"},
		{"/v1/projects?q=ab", "q"},
		{"/v1/tasks?q=" + strings.Repeat("x", 201), "q"},
	}
	for _, tc := range cases {
		r := env.REST(http.MethodGet, tc.path, key, "")
		if r.Status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", tc.path, r.Status, r.Body)
			continue
		}
		if code, _, details := extRESTError(t, r); code != "VALIDATION_ERROR" || !extDetailsEqual(details, map[string]string{"field": tc.field}) {
			t.Errorf("GET %s: %s %v, want VALIDATION_ERROR naming %s", tc.path, code, details, tc.field)
		}
	}
	_, err := c.tasks.ListTasks(env.Ctx(key), &workspacev1.ListTasksRequest{OrderBy: "priority"})
	pgxCheckValidationGRPC(t, "ListTasks(order_by priority)", err, "order_by")
	_, err = c.projects.ListProjects(env.Ctx(key), &workspacev1.ListProjectsRequest{OrderBy: "due_at desc"})
	pgxCheckValidationGRPC(t, "ListProjects(order_by due_at)", err, "order_by")
	_, err = c.tasks.ListTasks(env.Ctx(key), &workspacev1.ListTasksRequest{Q: "no"})
	pgxCheckValidationGRPC(t, "ListTasks(q no)", err, "q")
	_, err = c.tasks.ListTasks(env.Ctx(key), &workspacev1.ListTasksRequest{DueBefore: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}})
	pgxCheckValidationGRPC(t, "ListTasks(invalid due_before)", err, "due_before")
}

// TestListFilters checks each task filter and the project search on both
// surfaces and both backends, against the rows the test made.
func TestListFilters(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		key := env.AdminKey
		c := extNewClients(env)
		projects, tasks := lstFixture(t, env, key)
		cut := servertest.Epoch.Add(2 * time.Hour)
		since := tasks[6].created
		type tc struct {
			query string
			req   *workspacev1.ListTasksRequest
			match func(lstTask) bool
		}
		contains := func(s string) func(lstTask) bool {
			return func(t lstTask) bool { return strings.Contains(strings.ToLower(t.title), s) }
		}
		cases := []tc{
			{"status=todo", &workspacev1.ListTasksRequest{Status: "todo"}, func(t lstTask) bool { return t.status == "todo" }},
			{"status=todo,in_progress", &workspacev1.ListTasksRequest{Status: "todo,in_progress"}, func(t lstTask) bool { return t.status != "completed" }},
			{"status=completed&project_id=" + projects[0], &workspacev1.ListTasksRequest{Status: "completed", ProjectId: projects[0]},
				func(t lstTask) bool { return t.status == "completed" && t.project == projects[0] }},
			{"due_before=" + cut.Format(time.RFC3339), &workspacev1.ListTasksRequest{DueBefore: timestamppb.New(cut)},
				func(t lstTask) bool { return t.due != nil && t.due.Before(cut) }},
			{"due_after=" + cut.Format(time.RFC3339), &workspacev1.ListTasksRequest{DueAfter: timestamppb.New(cut)},
				func(t lstTask) bool { return t.due != nil && t.due.After(cut) }},
			{"updated_after=" + since.Format(time.RFC3339), &workspacev1.ListTasksRequest{UpdatedAfter: timestamppb.New(since)},
				func(t lstTask) bool { return t.updated.After(since) }},
			{"q=report", &workspacev1.ListTasksRequest{Q: "report"}, contains("report")},
			{"q=REPORT", &workspacev1.ListTasksRequest{Q: "REPORT"}, contains("report")},
			{"q=100%25", &workspacev1.ListTasksRequest{Q: "100%"}, contains("100%")},
			{"q=+lunch+", &workspacev1.ListTasksRequest{Q: " lunch "}, contains("lunch")},
			{"q=nothing+like+it", &workspacev1.ListTasksRequest{Q: "nothing like it"}, contains("nothing like it")},
		}
		for _, tc := range cases {
			var match []lstTask
			for _, task := range tasks {
				if tc.match(task) {
					match = append(match, task)
				}
			}
			want := lstSorted(match, "created_at", false)
			got := lstRESTPage(t, env, key, "/v1/tasks?limit=100&"+tc.query)
			if !slices.Equal(got.ids, want) || got.total != len(want) {
				t.Errorf("GET /v1/tasks?%s = %v (total %d), want %v", tc.query, got.ids, got.total, want)
			}
			tc.req.Limit = proto.Int32(100)
			g := lstGRPCPage(t, c, env, key, tc.req)
			if !slices.Equal(g.ids, want) || g.total != len(want) {
				t.Errorf("ListTasks(%v) = %v (total %d), want %v", tc.req, g.ids, g.total, want)
			}
			// Walking the filter by cursor gives the same rows.
			lstWalk(t, "walk "+tc.query, want, func(cursor string) lstPage {
				return lstRESTPage(t, env, key, "/v1/tasks?limit=2&"+tc.query+"&cursor="+url.QueryEscape(cursor))
			})
		}
		// Projects: q in the name or the description.
		got := lstRESTPage(t, env, key, "/v1/projects?q=RELAUNCH")
		if !slices.Equal(got.ids, []string{projects[1]}) || got.total != 1 {
			t.Errorf("GET /v1/projects?q=RELAUNCH = %v, want [%s]", got.ids, projects[1])
		}
		all, err := c.projects.ListProjects(env.Ctx(key), &workspacev1.ListProjectsRequest{Q: "roadmap"})
		if err != nil || len(all.GetData()) != 2 || all.GetPagination().GetTotal() != 2 {
			t.Errorf("ListProjects(q roadmap) = %v, %v; want both (one by name, both by description)", all, err)
		}
	})
}

// TestListParamsInOpenAPI: the served document names every list parameter as
// REST takes it (cursor, not page_token) and next_cursor in the pagination.
func TestListParamsInOpenAPI(t *testing.T) {
	env := servertest.Start(t)
	r := env.REST(http.MethodGet, "/v1/openapi.json", "", "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json: %d", r.Status)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
				Required   []string       `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"/v1/tasks":    {"limit", "offset", "cursor", "order_by", "project_id", "status", "due_before", "due_after", "updated_after", "q"},
		"/v1/projects": {"limit", "offset", "cursor", "order_by", "q"},
		"/v1/api-keys": {"limit", "offset", "cursor"},
	}
	for path, names := range want {
		var got []string
		for _, p := range doc.Paths[path]["get"].Parameters {
			if p.In == "query" {
				got = append(got, p.Name)
			}
		}
		slices.Sort(got)
		slices.Sort(names)
		if !slices.Equal(got, names) {
			t.Errorf("GET %s query parameters %v, want %v", path, got, names)
		}
	}
	pg, ok := doc.Components.Schemas["v1Pagination"]
	if !ok || pg.Properties["next_cursor"] == nil || slices.Contains(pg.Required, "next_cursor") {
		t.Errorf("v1Pagination: %+v; want an optional next_cursor", pg)
	}
}
