package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// pgxItem is a row the test created, with the clock time it was created at.
type pgxItem struct {
	id string
	at time.Time
}

// pgxOrder is CONTRACT §9's order, computed by the test: newest first by
// created_at, then by id, both descending.
func pgxOrder(items []pgxItem) []string {
	s := slices.Clone(items)
	slices.SortFunc(s, func(a, b pgxItem) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
	out := make([]string, len(s))
	for i, it := range s {
		out[i] = it.id
	}
	return out
}

// pgxPage is one page of a list as either surface returned it.
type pgxPage struct {
	ids       []string
	createdAt []string // RFC 3339 strings (REST only)
	total     int
	limit     int
	offset    int
	hasMore   bool
	rawData   string // the raw JSON of "data" (REST only)
}

// pgxFetch fetches one page; nil limit or offset leaves the parameter out.
type pgxFetch func(t *testing.T, limit, offset *int) pgxPage

// pgxLister is a list endpoint with fixed filters.
type pgxLister struct {
	name   string
	path   string // REST path, possibly with a query of filters
	filter func() (projectID, status string)
	grpc   func(ctx context.Context, limit, offset *int32, projectID, status string) (pgxPage, error)
	want   []string // every matching row, in the expected order
}

func pgxInt32(p *int) *int32 {
	if p == nil {
		return nil
	}
	return proto.Int32(int32(*p))
}

// pgxQuery appends query parameters to a path that may already have some.
func pgxQuery(path string, params ...string) string {
	if len(params) == 0 {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + strings.Join(params, "&")
}

// pgxRESTPage decodes a 200 list response, checking the exact envelope.
func pgxRESTPage(t *testing.T, r *servertest.Response, what string) pgxPage {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("%s: want 200, got %d %s", what, r.Status, r.Body)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, r.Body)
	}
	if len(env) != 3 || string(env["success"]) != "true" || env["data"] == nil || env["pagination"] == nil {
		t.Fatalf("%s: not a list envelope: %s", what, r.Body)
	}
	var data []struct {
		ID        string `json:"id"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(env["data"], &data); err != nil || !strings.HasPrefix(string(env["data"]), "[") {
		t.Fatalf("%s: data is not an array: %s", what, r.Body)
	}
	// The seed's four fields, and next_cursor (the lists issue's addition)
	// exactly on a page that has a next one.
	var pg map[string]json.RawMessage
	if err := json.Unmarshal(env["pagination"], &pg); err != nil ||
		len(pg) != 4 && !(len(pg) == 5 && pg["next_cursor"] != nil && string(pg["has_more"]) == "true") ||
		len(pg) == 4 && string(pg["has_more"]) == "true" {
		t.Fatalf("%s: pagination is not {total,limit,offset,has_more} plus next_cursor when has_more: %s", what, r.Body)
	}
	var p struct {
		Total   *int  `json:"total"`
		Limit   *int  `json:"limit"`
		Offset  *int  `json:"offset"`
		HasMore *bool `json:"has_more"`
	}
	if err := json.Unmarshal(env["pagination"], &p); err != nil || p.Total == nil || p.Limit == nil || p.Offset == nil || p.HasMore == nil {
		t.Fatalf("%s: bad pagination: %s", what, r.Body)
	}
	out := pgxPage{total: *p.Total, limit: *p.Limit, offset: *p.Offset, hasMore: *p.HasMore, rawData: string(env["data"])}
	for _, d := range data {
		out.ids = append(out.ids, d.ID)
		out.createdAt = append(out.createdAt, d.CreatedAt)
	}
	return out
}

func (l pgxLister) restFetch(env *servertest.Env, key string) pgxFetch {
	return func(t *testing.T, limit, offset *int) pgxPage {
		t.Helper()
		var params []string
		if limit != nil {
			params = append(params, "limit="+strconv.Itoa(*limit))
		}
		if offset != nil {
			params = append(params, "offset="+strconv.Itoa(*offset))
		}
		path := pgxQuery(l.path, params...)
		return pgxRESTPage(t, env.REST(http.MethodGet, path, key, ""), "GET "+path)
	}
}

func (l pgxLister) grpcFetch(ctx context.Context) pgxFetch {
	return func(t *testing.T, limit, offset *int) pgxPage {
		t.Helper()
		projectID, status := "", ""
		if l.filter != nil {
			projectID, status = l.filter()
		}
		p, err := l.grpc(ctx, pgxInt32(limit), pgxInt32(offset), projectID, status)
		if err != nil {
			t.Fatalf("%s(limit=%v, offset=%v): %v", l.name, limit, offset, err)
		}
		return p
	}
}

func pgxFromPB(n int, id func(int) string, pg *workspacev1.Pagination) pgxPage {
	out := pgxPage{total: int(pg.GetTotal()), limit: int(pg.GetLimit()), offset: int(pg.GetOffset()), hasMore: pg.GetHasMore()}
	for i := range n {
		out.ids = append(out.ids, id(i))
	}
	return out
}

// pgxCheckPage checks one page against the expected full list.
func pgxCheckPage(t *testing.T, what string, got pgxPage, want []string, limit, offset int) {
	t.Helper()
	n := len(want)
	lo, hi := min(offset, n), min(offset+limit, n)
	wantIDs := want[lo:hi]
	if !slices.Equal(got.ids, wantIDs) && !(len(got.ids) == 0 && len(wantIDs) == 0) {
		t.Errorf("%s: ids\n  got  %v\n  want %v", what, got.ids, wantIDs)
	}
	if got.total != n {
		t.Errorf("%s: total %d, want %d", what, got.total, n)
	}
	if got.limit != limit || got.offset != offset {
		t.Errorf("%s: pagination limit %d offset %d, want %d %d", what, got.limit, got.offset, limit, offset)
	}
	if wantMore := offset+len(wantIDs) < n; got.hasMore != wantMore {
		t.Errorf("%s: has_more %v, want %v (offset %d + %d items vs total %d)", what, got.hasMore, wantMore, offset, len(wantIDs), n)
	}
	if got.hasMore != (got.offset+len(got.ids) < got.total) {
		t.Errorf("%s: has_more %v is not offset+len(data) < total (%d+%d vs %d)", what, got.hasMore, got.offset, len(got.ids), got.total)
	}
	if got.rawData != "" && len(wantIDs) == 0 && got.rawData != "[]" {
		t.Errorf("%s: empty page's data is %s, want []", what, got.rawData)
	}
	for i := 1; i < len(got.createdAt); i++ {
		if got.createdAt[i] > got.createdAt[i-1] {
			t.Errorf("%s: created_at not descending: %s after %s", what, got.createdAt[i], got.createdAt[i-1])
		}
	}
}

// pgxBattery runs CONTRACT §9 against one list on one surface.
func pgxBattery(t *testing.T, fetch pgxFetch, want []string) {
	n := len(want)
	ip := func(v int) *int { return &v }

	// Defaults: limit 20, offset 0, echoed.
	pgxCheckPage(t, "default page", fetch(t, nil, nil), want, 20, 0)
	pgxCheckPage(t, "offset only", fetch(t, nil, ip(1)), want, 20, 1)
	pgxCheckPage(t, "limit only", fetch(t, ip(1), nil), want, 1, 0)

	// The whole list in one page is the reference order.
	all := fetch(t, ip(100), ip(0))
	pgxCheckPage(t, "limit=100", all, want, 100, 0)

	// Every page shape around the boundaries.
	var limits, offsets []int
	for _, l := range []int{1, 3, n - 1, n, 100} {
		if l >= 1 && l <= 100 && !slices.Contains(limits, l) {
			limits = append(limits, l)
		}
	}
	for _, o := range []int{0, 1, n - 1, n, n + 7} {
		if o >= 0 && !slices.Contains(offsets, o) {
			offsets = append(offsets, o)
		}
	}
	for _, l := range limits {
		for _, o := range offsets {
			pgxCheckPage(t, fmt.Sprintf("limit=%d offset=%d", l, o), fetch(t, ip(l), ip(o)), want, l, o)
		}
	}

	// Walking with limit 3 returns every item once, in the one-page order.
	var walked []string
	pages := 0
	for off := 0; ; off += 3 {
		p := fetch(t, ip(3), ip(off))
		pages++
		pgxCheckPage(t, fmt.Sprintf("walk offset=%d", off), p, want, 3, off)
		walked = append(walked, p.ids...)
		if !p.hasMore || pages > n+1 {
			break
		}
	}
	if !slices.Equal(walked, all.ids) {
		t.Errorf("walking pages of 3 gave\n  %v\nthe single page\n  %v", walked, all.ids)
	}
	seen := map[string]bool{}
	for _, id := range walked {
		if seen[id] {
			t.Errorf("walking pages of 3 returned %s twice", id)
		}
		seen[id] = true
	}
	if wantPages := max(1, (n+2)/3); pages != wantPages {
		t.Errorf("walking %d items by 3 took %d pages, want %d", n, pages, wantPages)
	}
}

// TestPagination covers CONTRACT §9 on every list, with filters, over REST
// and gRPC, on one server.
func TestPagination(t *testing.T) {
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	key := env.AdminKey
	ctx := env.Ctx(key)
	c := extNewClients(env)

	// The bootstrap key exists already, created at Epoch.
	boot, err := c.keys.ListApiKeys(ctx, &workspacev1.ListApiKeysRequest{})
	if err != nil || len(boot.GetData()) != 1 {
		t.Fatalf("ListApiKeys at start: %v, %v", boot, err)
	}
	keys := []pgxItem{{boot.GetData()[0].GetId(), boot.GetData()[0].GetCreatedAt().AsTime()}}

	// Create rows while the clock advances by a second before some and stands
	// still before others: rows of the same instant are ordered by id alone.
	step := 0
	tick := func() time.Time {
		step++
		if step%3 != 0 {
			return env.Clock.Advance(time.Second)
		}
		return env.Clock.Now()
	}
	var projects, tasks []pgxItem
	newProject := func(name string) string {
		at := tick()
		id := c.mustProject(t, ctx, name).GetId()
		projects = append(projects, pgxItem{id, at})
		return id
	}
	type taskRow struct {
		pgxItem
		project, status string
	}
	var taskRows []taskRow
	statuses := []string{"todo", "in_progress", "completed"}
	newTask := func(project string, i int) {
		at := tick()
		st := statuses[i%3]
		id := c.mustTask(t, ctx, project, fmt.Sprintf("task %d", i), st).GetId()
		tasks = append(tasks, pgxItem{id, at})
		taskRows = append(taskRows, taskRow{pgxItem{id, at}, project, st})
	}
	p1 := newProject("project 1")
	p2 := newProject("project 2")
	p3 := newProject("project 3 (no tasks)")
	for i := range 11 {
		if i%3 == 2 {
			newTask(p2, i)
		} else {
			newTask(p1, i)
		}
		if i%2 == 0 {
			newProject(fmt.Sprintf("filler project %d", i))
		}
	}
	for i := range 5 {
		at := tick()
		keys = append(keys, pgxItem{c.mustKey(t, ctx, fmt.Sprintf("key %d", i), "read").GetId(), at})
	}
	for i := len(projects); i < 23; i++ {
		newProject(fmt.Sprintf("late project %d", i))
	}
	tasksWhere := func(project, status string) []string {
		var items []pgxItem
		for _, r := range taskRows {
			if (project == "" || r.project == project) && (status == "" || r.status == status) {
				items = append(items, r.pgxItem)
			}
		}
		return pgxOrder(items)
	}

	listProjects := func(ctx context.Context, limit, offset *int32, _, _ string) (pgxPage, error) {
		r, err := c.projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{Limit: limit, Offset: offset})
		return pgxFromPB(len(r.GetData()), func(i int) string { return r.GetData()[i].GetId() }, r.GetPagination()), err
	}
	listTasks := func(ctx context.Context, limit, offset *int32, projectID, status string) (pgxPage, error) {
		r, err := c.tasks.ListTasks(ctx, &workspacev1.ListTasksRequest{Limit: limit, Offset: offset, ProjectId: projectID, Status: status})
		return pgxFromPB(len(r.GetData()), func(i int) string { return r.GetData()[i].GetId() }, r.GetPagination()), err
	}
	listKeys := func(ctx context.Context, limit, offset *int32, _, _ string) (pgxPage, error) {
		r, err := c.keys.ListApiKeys(ctx, &workspacev1.ListApiKeysRequest{Limit: limit, Offset: offset})
		return pgxFromPB(len(r.GetData()), func(i int) string { return r.GetData()[i].GetId() }, r.GetPagination()), err
	}
	filter := func(project, status string) func() (string, string) {
		return func() (string, string) { return project, status }
	}
	listers := []pgxLister{
		{name: "ListProjects", path: "/v1/projects", grpc: listProjects, want: pgxOrder(projects)},
		{name: "ListTasks", path: "/v1/tasks", grpc: listTasks, want: pgxOrder(tasks)},
		{name: "ListTasks project_id", path: "/v1/tasks?project_id=" + p1, filter: filter(p1, ""), grpc: listTasks, want: tasksWhere(p1, "")},
		{name: "ListTasks status", path: "/v1/tasks?status=in_progress", filter: filter("", "in_progress"), grpc: listTasks, want: tasksWhere("", "in_progress")},
		{name: "ListTasks project_id and status", path: "/v1/tasks?project_id=" + p1 + "&status=todo", filter: filter(p1, "todo"), grpc: listTasks, want: tasksWhere(p1, "todo")},
		{name: "ListTasks empty project", path: "/v1/tasks?project_id=" + p3, filter: filter(p3, ""), grpc: listTasks, want: tasksWhere(p3, "")},
		{name: "ListApiKeys", path: "/v1/api-keys", grpc: listKeys, want: pgxOrder(keys)},
	}
	// The test's own bookkeeping must make the cases it means to.
	if len(projects) != 23 || len(tasks) != 11 || len(keys) != 6 || len(tasksWhere(p1, "")) != 8 || len(tasksWhere(p3, "")) != 0 {
		t.Fatalf("fixture: %d projects, %d tasks, %d keys", len(projects), len(tasks), len(keys))
	}
	ties := 0
	for _, items := range [][]pgxItem{projects, tasks, keys} {
		for i := range items {
			for j := range i {
				if items[i].at.Equal(items[j].at) {
					ties++
				}
			}
		}
	}
	if ties == 0 {
		t.Fatalf("fixture has no rows created at the same instant")
	}

	for _, l := range listers {
		t.Run(l.name, func(t *testing.T) {
			t.Run("REST", func(t *testing.T) {
				env.Clock.Advance(time.Minute) // a fresh quota window
				pgxBattery(t, l.restFetch(env, key), l.want)
			})
			t.Run("gRPC", func(t *testing.T) {
				env.Clock.Advance(time.Minute)
				pgxBattery(t, l.grpcFetch(ctx), l.want)
			})
		})
	}

	t.Run("Validation", func(t *testing.T) {
		env.Clock.Advance(time.Minute)
		type badREST struct{ query, field string }
		restCases := []badREST{
			{"limit=0", "limit"}, {"limit=101", "limit"}, {"limit=-1", "limit"}, {"limit=abc", "limit"},
			{"offset=-1", "offset"}, {"offset=x", "offset"},
			{"limit=0&offset=0", "limit"}, {"limit=10&offset=-1", "offset"},
			{"limit=1.5", "limit"}, {"limit=4294967297", "limit"}, {"offset=2147483648", "offset"},
		}
		for _, path := range []string{"/v1/projects", "/v1/tasks", "/v1/tasks?project_id=" + p1, "/v1/api-keys"} {
			for _, bc := range restCases {
				p := pgxQuery(path, bc.query)
				r := env.REST(http.MethodGet, p, key, "")
				if r.Status != http.StatusBadRequest {
					t.Errorf("GET %s: want 400, got %d %s", p, r.Status, r.Body)
					continue
				}
				code, _, details := extRESTError(t, r)
				if code != "VALIDATION_ERROR" || !extDetailsEqual(details, map[string]string{"field": bc.field}) {
					t.Errorf("GET %s: error %s %v, want VALIDATION_ERROR {field: %s}", p, code, details, bc.field)
				}
			}
		}
		// The largest offset there is: an empty page, not an overflow.
		maxOffset := 2147483647
		for _, l := range listers[:2] {
			p := pgxQuery(l.path, "offset=2147483647")
			got := pgxRESTPage(t, env.REST(http.MethodGet, p, key, ""), "GET "+p)
			pgxCheckPage(t, "GET "+p, got, l.want, 20, 2147483647)
			pgxCheckPage(t, l.name+" offset=MaxInt32", l.grpcFetch(ctx)(t, nil, &maxOffset), l.want, 20, 2147483647)
		}
		// A bad status filter names its field too.
		if r := env.REST(http.MethodGet, "/v1/tasks?status=done", key, ""); r.Status != http.StatusBadRequest {
			t.Errorf("GET /v1/tasks?status=done: want 400, got %d %s", r.Status, r.Body)
		} else if code, _, details := extRESTError(t, r); code != "VALIDATION_ERROR" || !extDetailsEqual(details, map[string]string{"field": "status"}) {
			t.Errorf("GET /v1/tasks?status=done: error %s %v, want VALIDATION_ERROR {field: status}", code, details)
		}

		type badGRPC struct {
			limit, offset *int32
			field         string
		}
		grpcCases := []badGRPC{
			{proto.Int32(0), nil, "limit"}, {proto.Int32(101), nil, "limit"}, {proto.Int32(-1), nil, "limit"},
			{nil, proto.Int32(-1), "offset"}, {proto.Int32(5), proto.Int32(-1), "offset"},
		}
		for _, l := range []pgxLister{listers[0], listers[1], listers[len(listers)-1]} {
			for _, bc := range grpcCases {
				_, err := l.grpc(ctx, bc.limit, bc.offset, "", "")
				what := fmt.Sprintf("%s(limit=%v, offset=%v)", l.name, bc.limit, bc.offset)
				pgxCheckValidationGRPC(t, what, err, bc.field)
			}
		}
		_, err := listTasks(ctx, nil, nil, "", "done")
		pgxCheckValidationGRPC(t, "ListTasks(status=done)", err, "status")
	})
}

func pgxCheckValidationGRPC(t *testing.T, what string, err error, field string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: want INVALID_ARGUMENT, got success", what)
		return
	}
	st, info := extErrorInfo(err)
	if st.Code() != codes.InvalidArgument {
		t.Errorf("%s: want INVALID_ARGUMENT, got %v %q", what, st.Code(), st.Message())
	}
	if info == nil || info.GetReason() != "VALIDATION_ERROR" || len(info.GetMetadata()) != 1 || info.GetMetadata()["field"] != field {
		t.Errorf("%s: ErrorInfo %v, want reason VALIDATION_ERROR metadata {field: %s}", what, info, field)
	}
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			br = b
		}
	}
	if br == nil || len(br.GetFieldViolations()) != 1 || br.GetFieldViolations()[0].GetField() != field {
		t.Errorf("%s: BadRequest %v, want one violation of %s", what, br, field)
	}
}
