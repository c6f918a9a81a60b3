package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/store/postgres/pgtest"
)

// evlEvent is an event as REST writes it.
type evlEvent struct {
	ID        string         `json:"id"`
	Seq       string         `json:"seq"`
	Type      string         `json:"type"`
	CreatedAt string         `json:"created_at"`
	Data      map[string]any `json:"data"`
	Previous  map[string]any `json:"previous"`
	RequestID *string        `json:"request_id"`
	KeyID     *string        `json:"key_id"`
	raw       map[string]json.RawMessage
}

func (e evlEvent) seq(t testing.TB) int64 {
	t.Helper()
	n, err := strconv.ParseInt(e.Seq, 10, 64)
	if err != nil {
		t.Fatalf("seq %q is not a decimal string", e.Seq)
	}
	return n
}

type evlPage struct {
	events []evlEvent
	total  float64
	limit  float64
	offset float64
	more   bool
	next   string
}

// evlList reads one page of GET /v1/events?query, which must succeed.
func evlList(t testing.TB, env *servertest.Env, key, query string) evlPage {
	t.Helper()
	r := env.REST("GET", "/v1/events?"+query, key, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/events?%s: %d %s", query, r.Status, r.Body)
	}
	var body struct {
		Success    bool              `json:"success"`
		Data       []json.RawMessage `json:"data"`
		Pagination map[string]any    `json:"pagination"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || !body.Success || body.Data == nil || body.Pagination == nil {
		t.Fatalf("GET /v1/events?%s: not the list envelope: %s", query, r.Body)
	}
	var p evlPage
	for _, raw := range body.Data {
		var e evlEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("event %s: %v", raw, err)
		}
		_ = json.Unmarshal(raw, &e.raw)
		p.events = append(p.events, e)
	}
	p.total, _ = body.Pagination["total"].(float64)
	p.limit, _ = body.Pagination["limit"].(float64)
	p.offset, _ = body.Pagination["offset"].(float64)
	p.more, _ = body.Pagination["has_more"].(bool)
	p.next, _ = body.Pagination["next_cursor"].(string)
	return p
}

// evlAll reads the whole log of key's workspace (of types, if any).
func evlAll(t testing.TB, env *servertest.Env, key, types string) []evlEvent {
	t.Helper()
	q := "limit=100&types=" + url.QueryEscape(types)
	var out []evlEvent
	for {
		p := evlList(t, env, key, q)
		out = append(out, p.events...)
		if p.next == "" {
			return out
		}
		q = "limit=100&types=" + url.QueryEscape(types) + "&cursor=" + url.QueryEscape(p.next)
	}
}

func evlSeqs(t testing.TB, evs []evlEvent) []int64 {
	t.Helper()
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.seq(t)
	}
	return out
}

func evlPost(t testing.TB, env *servertest.Env, method, path, key, body string, want int, headers ...string) (map[string]any, *servertest.Response) {
	t.Helper()
	r := env.REST(method, path, key, body, headers...)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	var v struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.Data, r
}

// evlHeaderSeq is a REST answer's X-Event-Seq (0 when absent).
func evlHeaderSeq(t testing.TB, r *servertest.Response) int64 {
	t.Helper()
	v := r.Header.Get("X-Event-Seq")
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		t.Fatalf("X-Event-Seq %q", v)
	}
	return n
}

// evlFind returns the last event of type typ about the resource id.
func evlFind(t testing.TB, evs []evlEvent, typ, id string) evlEvent {
	t.Helper()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ && evs[i].Data["id"] == id {
			return evs[i]
		}
	}
	t.Fatalf("no %s event about %s among %d events", typ, id, len(evs))
	return evlEvent{}
}

// TestEventsPaging: pages read by cursor and pages read by after, with
// writes between the pages, miss nothing and repeat nothing, oldest first,
// on both surfaces, in the list envelope.
func TestEventsPaging(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace("enterprise")
		proj, _ := evlPost(t, env, "POST", "/v1/projects", key, `{"name":"P"}`, 201)
		newTask := func(i int) {
			evlPost(t, env, "POST", "/v1/tasks", key, fmt.Sprintf(`{"title":"t%d","project_id":%q}`, i, proj["id"]), 201)
		}
		for i := 0; i < 9; i++ {
			newTask(i)
		}
		// By cursor, a write between every two pages.
		var byCursor []evlEvent
		q := "limit=4"
		for pages := 0; ; pages++ {
			p := evlList(t, env, key, q)
			if p.limit != 4 || p.offset != 0 || p.more != (p.next != "") {
				t.Errorf("page %d: pagination limit %v offset %v has_more %v next %q", pages, p.limit, p.offset, p.more, p.next)
			}
			byCursor = append(byCursor, p.events...)
			if p.next == "" {
				break
			}
			if pages < 2 {
				newTask(100 + pages)
			}
			q = "limit=4&cursor=" + url.QueryEscape(p.next)
		}
		all := evlAll(t, env, key, "")
		if len(all) != 13 { // the first key, the project, 9 + 2 tasks
			t.Fatalf("%d events, want 13", len(all))
		}
		want := make([]int64, len(all))
		for i := range want {
			want[i] = int64(i + 1) // a workspace's seqs: 1, 2, 3… without a gap
		}
		if got := evlSeqs(t, all); !slices.Equal(got, want) {
			t.Errorf("the whole log's seqs %v, want %v", got, want)
		}
		if got := evlSeqs(t, byCursor); !slices.Equal(got, want) {
			t.Errorf("paged by cursor: seqs %v, want %v", got, want)
		}
		// By after.
		var byAfter []int64
		after := int64(0)
		for {
			p := evlList(t, env, key, fmt.Sprintf("after=%d&limit=5", after))
			if int(p.total) != len(all)-int(after) {
				t.Errorf("after=%d: total %v, want %d", after, p.total, len(all)-int(after))
			}
			if len(p.events) == 0 {
				break
			}
			byAfter = append(byAfter, evlSeqs(t, p.events)...)
			after = p.events[len(p.events)-1].seq(t)
		}
		if !slices.Equal(byAfter, want) {
			t.Errorf("paged by after: seqs %v, want %v", byAfter, want)
		}
		// gRPC, by page token.
		c := workspacev1.NewEventServiceClient(env.Conn)
		var byToken []int64
		req := &workspacev1.ListEventsRequest{Limit: proto.Int32(5)}
		for {
			resp, err := c.ListEvents(env.Ctx(key), req)
			if err != nil {
				t.Fatalf("ListEvents: %v", err)
			}
			for _, e := range resp.GetData() {
				byToken = append(byToken, e.GetSeq())
			}
			if resp.GetPagination().GetNextCursor() != "" {
				t.Errorf("gRPC carries the cursor in next_page_token, not pagination.next_cursor")
			}
			if resp.NextPageToken == nil {
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		if !slices.Equal(byToken, want) {
			t.Errorf("gRPC paged by token: seqs %v, want %v", byToken, want)
		}
	})
}

// TestEventsTypes: types keeps the events of those types only, in order;
// its cursor is bound to it.
func TestEventsTypes(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace("enterprise")
		proj, _ := evlPost(t, env, "POST", "/v1/projects", key, `{"name":"P"}`, 201)
		var tasks []string
		for i := 0; i < 3; i++ {
			task, _ := evlPost(t, env, "POST", "/v1/tasks", key, fmt.Sprintf(`{"title":"t%d","project_id":%q}`, i, proj["id"]), 201)
			tasks = append(tasks, task["id"].(string))
			evlPost(t, env, "PATCH", "/v1/tasks/"+tasks[i], key, `{"status":"completed"}`, 200)
		}
		evlPost(t, env, "DELETE", "/v1/tasks/"+tasks[1], key, "", 200)

		all := evlAll(t, env, key, "")
		got := evlAll(t, env, key, " task.deleted,task.created , task.created")
		var want []evlEvent
		for _, e := range all {
			if e.Type == "task.created" || e.Type == "task.deleted" {
				want = append(want, e)
			}
		}
		if !slices.Equal(evlSeqs(t, got), evlSeqs(t, want)) || len(got) != 4 {
			t.Errorf("types=task.created,task.deleted: seqs %v, want %v", evlSeqs(t, got), evlSeqs(t, want))
		}
		if p := evlList(t, env, key, "types=task.updated&limit=1"); p.total != 3 || len(p.events) != 1 || !p.more {
			t.Errorf("types=task.updated&limit=1: total %v, %d events, has_more %v", p.total, len(p.events), p.more)
		}
		// A cursor is bound to its types, written in any order.
		p := evlList(t, env, key, "types=task.created,task.deleted&limit=1")
		if next := evlList(t, env, key, "types=task.deleted,task.created&limit=1&cursor="+url.QueryEscape(p.next)); len(next.events) != 1 || next.events[0].Seq != want[1].Seq {
			t.Errorf("the cursor with its types in another order: %v", evlSeqs(t, next.events))
		}
		for _, types := range []string{"task.created", ""} {
			r := env.REST("GET", "/v1/events?limit=1&types="+types+"&cursor="+url.QueryEscape(p.next), key, "")
			evlRefused(t, "a cursor of other types", r, "cursor")
		}
		// gRPC likewise.
		c := workspacev1.NewEventServiceClient(env.Conn)
		resp, err := c.ListEvents(env.Ctx(key), &workspacev1.ListEventsRequest{Types: "task.deleted"})
		if err != nil || len(resp.GetData()) != 1 || resp.GetData()[0].GetType() != "task.deleted" {
			t.Errorf("gRPC types=task.deleted: %v, %v", resp.GetData(), err)
		}
	})
}

// evlRefused checks a REST 400 naming field.
func evlRefused(t testing.TB, what string, r *servertest.Response, field string) {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Errorf("%s: %d %s, want 400 naming %s", what, r.Status, r.Body, field)
		return
	}
	code, _, details := extRESTError(t, r)
	if code != "VALIDATION_ERROR" || details["field"] != field {
		t.Errorf("%s: %s %v, want VALIDATION_ERROR naming %q", what, code, details, field)
	}
}

// evlGRPCRefused checks a gRPC INVALID_ARGUMENT naming field.
func evlGRPCRefused(t testing.TB, what string, err error, field string) {
	t.Helper()
	st, info := extErrorInfo(err)
	if st.Code() != codes.InvalidArgument || info == nil || info.GetMetadata()["field"] != field {
		t.Errorf("%s: %v, want INVALID_ARGUMENT naming %q", what, err, field)
		return
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 && br.GetFieldViolations()[0].GetField() == field {
			return
		}
	}
	t.Errorf("%s: no BadRequest naming %q in %v", what, field, st.Details())
}

// TestEventsValidation: every bad parameter is a 400 naming it, on both
// surfaces; the strict query takes after, types, limit and cursor only.
func TestEventsValidation(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace("enterprise")
		for i := 0; i < 3; i++ {
			evlPost(t, env, "POST", "/v1/projects", key, fmt.Sprintf(`{"name":"p%d"}`, i), 201)
		}
		p := evlList(t, env, key, "limit=1")
		raw := []byte(p.next)
		raw[len(raw)/2] ^= 1
		forged := string(raw)
		for _, c := range []struct{ query, field string }{
			{"after=-1", "after"},
			{"after=abc", "after"},
			{"after=1.5", "after"},
			{"types=task.renamed", "types"},
			{"types=task.created,,task.deleted", "types"},
			{"types=TASK.CREATED", "types"},
			{"limit=0", "limit"},
			{"limit=101", "limit"},
			{"limit=x", "limit"},
			{"cursor=garbage", "cursor"},
			{"cursor=" + url.QueryEscape(forged), "cursor"},
			{"cursor=" + url.QueryEscape(p.next) + "&after=2", "cursor"},
			{"offset=1", "offset"},
			{"after_seq=1", "after_seq"},
			{"page_token=x", "page_token"},
			{"q=x", "q"},
			{"after=1&after=2", "after"},
		} {
			evlRefused(t, "GET /v1/events?"+c.query, env.REST("GET", "/v1/events?"+c.query, key, ""), c.field)
		}
		// The four parameters, together (but the cursor without after).
		evlList(t, env, key, "after=1&types=project.created&limit=1")
		evlList(t, env, key, "types=&limit=1&cursor="+url.QueryEscape(p.next))

		c := workspacev1.NewEventServiceClient(env.Conn)
		ctx := env.Ctx(key)
		_, err := c.ListEvents(ctx, &workspacev1.ListEventsRequest{AfterSeq: -1})
		evlGRPCRefused(t, "gRPC after_seq -1", err, "after")
		_, err = c.ListEvents(ctx, &workspacev1.ListEventsRequest{Types: "nope"})
		evlGRPCRefused(t, "gRPC types nope", err, "types")
		_, err = c.ListEvents(ctx, &workspacev1.ListEventsRequest{Limit: proto.Int32(1000)})
		evlGRPCRefused(t, "gRPC limit 1000", err, "limit")
		_, err = c.ListEvents(ctx, &workspacev1.ListEventsRequest{PageToken: forged})
		evlGRPCRefused(t, "gRPC forged token", err, "cursor")
		_, err = c.ListEvents(ctx, &workspacev1.ListEventsRequest{PageToken: p.next, AfterSeq: 1})
		evlGRPCRefused(t, "gRPC token and after", err, "cursor")
	})
}

// TestEventsScopes: read suffices; a key without read (or admin) gets 403.
func TestEventsScopes(t *testing.T) {
	env := servertest.Start(t)
	ws, admin := env.NewWorkspace("enterprise")
	evlPost(t, env, "POST", "/v1/projects", admin, `{"name":"P"}`, 201)
	c := workspacev1.NewEventServiceClient(env.Conn)
	for _, scopes := range [][]string{{"read"}, {"admin"}, {"write", "read"}, {"write"}, {"delete"}, {"write", "delete"}} {
		key := env.NewKey(ws, scopes...)
		allowed := slices.Contains(scopes, "read") || slices.Contains(scopes, "admin")
		r := env.REST("GET", "/v1/events", key, "")
		_, err := c.ListEvents(env.Ctx(key), &workspacev1.ListEventsRequest{})
		if allowed {
			if r.Status != 200 || err != nil {
				t.Errorf("key %v: REST %d, gRPC %v; want success", scopes, r.Status, err)
			}
			continue
		}
		if code, _, details := extRESTError(t, r); r.Status != 403 || code != "FORBIDDEN" || details["required_scope"] != "read" {
			t.Errorf("key %v: REST %d %s, want 403 FORBIDDEN requiring read", scopes, r.Status, r.Body)
		}
		if st, info := extErrorInfo(err); st.Code() != codes.PermissionDenied || info.GetMetadata()["required_scope"] != "read" {
			t.Errorf("key %v: gRPC %v, want PERMISSION_DENIED requiring read", scopes, err)
		}
	}
}

// TestEventsTenancy: a workspace's log holds its own changes only, and its
// cursors do not read another's.
func TestEventsTenancy(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, keyA := env.NewWorkspace("enterprise")
		_, keyB := env.NewWorkspace("enterprise")
		ids := map[string]map[string]bool{keyA: {}, keyB: {}}
		for _, key := range []string{keyA, keyB} {
			// The workspace's first key, created with it.
			evs := evlAll(t, env, key, "")
			if len(evs) != 1 || evs[0].Type != "api_key.created" {
				t.Fatalf("a new workspace's log: %v", evs)
			}
			ids[key][evs[0].Data["id"].(string)] = true
		}
		for i := 0; i < 3; i++ {
			for _, key := range []string{keyA, keyB} {
				p, _ := evlPost(t, env, "POST", "/v1/projects", key, fmt.Sprintf(`{"name":"p%d"}`, i), 201)
				ids[key][p["id"].(string)] = true
			}
		}
		for key, own := range ids {
			evs := evlAll(t, env, key, "")
			if len(evs) != 4 {
				t.Errorf("%d events, want the workspace's own 4", len(evs))
			}
			for _, e := range evs {
				if !own[e.Data["id"].(string)] {
					t.Errorf("an event about %v, of another workspace", e.Data["id"])
				}
			}
			if got := evlSeqs(t, evs); !slices.Equal(got, []int64{1, 2, 3, 4}) {
				t.Errorf("seqs %v: each workspace counts its own", got)
			}
		}
		p := evlList(t, env, keyA, "limit=1")
		evlRefused(t, "another workspace's cursor", env.REST("GET", "/v1/events?limit=1&cursor="+url.QueryEscape(p.next), keyB, ""), "cursor")
	})
}

// TestEventSeqOfEachWrite: every write answers X-Event-Seq, the seq of its
// (last) event in the log; reads, refusals and no-ops answer none.
func TestEventSeqOfEachWrite(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace("enterprise")
		type write struct {
			what, typ, id string
			seq           int64
		}
		var writes []write
		do := func(method, path, body string, want int, typ string) map[string]any {
			t.Helper()
			data, r := evlPost(t, env, method, path, key, body, want)
			id, _ := data["id"].(string)
			writes = append(writes, write{method + " " + path, typ, id, evlHeaderSeq(t, r)})
			return data
		}
		proj := do("POST", "/v1/projects", `{"name":"P"}`, 201, "project.created")["id"].(string)
		do("PATCH", "/v1/projects/"+proj, `{"name":"P2"}`, 200, "project.updated")
		do("PUT", "/v1/projects/"+proj, `{"description":"d"}`, 200, "project.updated")
		task := do("POST", "/v1/tasks", `{"title":"T","project_id":"`+proj+`"}`, 201, "task.created")["id"].(string)
		do("PATCH", "/v1/tasks/"+task, `{"status":"in_progress"}`, 200, "task.updated")
		do("PUT", "/v1/tasks/"+task, `{"title":"T2"}`, 200, "task.updated")
		do("DELETE", "/v1/tasks/"+task, "", 200, "task.deleted")
		newKey := do("POST", "/v1/api-keys", `{"name":"k","scopes":["read"]}`, 201, "api_key.created")["id"].(string)
		do("DELETE", "/v1/api-keys/"+newKey, "", 200, "api_key.revoked")

		evs := evlAll(t, env, key, "")
		for _, w := range writes {
			id := w.id
			if id == "" { // a delete answers {id, deleted}
				id = task
				if strings.Contains(w.what, "api-keys") {
					id = newKey
				}
			}
			if w.seq < 1 || w.seq > int64(len(evs)) {
				t.Errorf("%s: X-Event-Seq %d, not in the log", w.what, w.seq)
				continue
			}
			if e := evs[w.seq-1]; e.seq(t) != w.seq || e.Type != w.typ || e.Data["id"] != id {
				t.Errorf("%s: X-Event-Seq %d is a %s event about %v, want %s about %s", w.what, w.seq, e.Type, e.Data["id"], w.typ, id)
			}
		}
		last := evs[len(evs)-1].seq(t)

		// A batch: the seq of its last task's event.
		_, r := evlPost(t, env, "POST", "/v1/tasks:batchCreate", key, `{"tasks":[{"title":"a","project_id":"`+proj+`"},{"title":"b","project_id":"`+proj+`"},{"title":"c","project_id":"`+proj+`"}]}`, 201)
		var batch struct {
			Data struct {
				Tasks []map[string]any `json:"tasks"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Body, &batch); err != nil || len(batch.Data.Tasks) != 3 {
			t.Fatalf("batch: %s", r.Body)
		}
		evs = evlAll(t, env, key, "")
		c := evlFind(t, evs, "task.created", batch.Data.Tasks[2]["id"].(string))
		if got := evlHeaderSeq(t, r); got != c.seq(t) || got != last+3 {
			t.Errorf("batch of 3: X-Event-Seq %d, want the last task's %d (= %d + 3)", got, c.seq(t), last)
		}
		// A project's delete: the last event of its cascade.
		_, r = evlPost(t, env, "DELETE", "/v1/projects/"+proj, key, "", 200)
		evs = evlAll(t, env, key, "")
		if got := evlHeaderSeq(t, r); got != evs[len(evs)-1].seq(t) || got != last+3+4 {
			t.Errorf("project delete (3 tasks): X-Event-Seq %d, want the cascade's last %d", got, evs[len(evs)-1].seq(t))
		}
		deleted := map[string]int{}
		for _, e := range evs[len(evs)-4:] {
			deleted[e.Type]++
		}
		if deleted["task.deleted"] != 3 || deleted["project.deleted"] != 1 {
			t.Errorf("the cascade's events: %v", deleted)
		}
		head := evs[len(evs)-1].seq(t)

		// None: a no-op revoke, reads, refusals.
		for _, c := range []struct {
			method, path, body string
		}{
			{"DELETE", "/v1/api-keys/" + newKey, ""},
			{"GET", "/v1/projects", ""},
			{"GET", "/v1/events", ""},
			{"POST", "/v1/projects", `{"name":""}`},
			{"DELETE", "/v1/projects/" + proj, ""},
		} {
			r := env.REST(c.method, c.path, key, c.body)
			if v := r.Header.Get("X-Event-Seq"); v != "" {
				t.Errorf("%s %s → %d: X-Event-Seq %q, want none", c.method, c.path, r.Status, v)
			}
		}
		if got := evlAll(t, env, key, ""); got[len(got)-1].seq(t) != head {
			t.Errorf("the no-ops appended events: head %d, was %d", got[len(got)-1].seq(t), head)
		}

		// gRPC: header metadata x-event-seq.
		pc := workspacev1.NewProjectServiceClient(env.Conn)
		var md metadata.MD
		created, err := pc.CreateProject(env.Ctx(key), &workspacev1.CreateProjectRequest{Name: "G"}, grpc.Header(&md))
		if err != nil {
			t.Fatal(err)
		}
		e := evlFind(t, evlAll(t, env, key, ""), "project.created", created.GetProject().GetId())
		if got := md.Get("x-event-seq"); len(got) != 1 || got[0] != e.Seq {
			t.Errorf("gRPC CreateProject: x-event-seq %v, want [%s]", got, e.Seq)
		}
		md = nil
		if _, err := pc.ListProjects(env.Ctx(key), &workspacev1.ListProjectsRequest{}, grpc.Header(&md)); err != nil || len(md.Get("x-event-seq")) != 0 {
			t.Errorf("gRPC ListProjects: x-event-seq %v (%v), want none", md.Get("x-event-seq"), err)
		}
	})
}

// TestEventSeqOfAReplay: an idempotent replay answers the original write's
// X-Event-Seq (REST) and x-event-seq (gRPC), and appends nothing.
func TestEventSeqOfAReplay(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace("enterprise")
		proj, _ := evlPost(t, env, "POST", "/v1/projects", key, `{"name":"P"}`, 201)
		body := `{"title":"once","project_id":"` + proj["id"].(string) + `"}`
		task, first := evlPost(t, env, "POST", "/v1/tasks", key, body, 201, "Idempotency-Key", "evl-1")
		evlPost(t, env, "POST", "/v1/projects", key, `{"name":"later"}`, 201)
		_, again := evlPost(t, env, "POST", "/v1/tasks", key, body, 201, "Idempotency-Key", "evl-1")
		if again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the retry was not replayed: %v", again.Header)
		}
		evs := evlAll(t, env, key, "task.created")
		e := evlFind(t, evs, "task.created", task["id"].(string))
		if len(evs) != 1 || evlHeaderSeq(t, first) != e.seq(t) || evlHeaderSeq(t, again) != e.seq(t) {
			t.Errorf("X-Event-Seq %d then %d on the replay; the task's event has %d (%d task.created events)",
				evlHeaderSeq(t, first), evlHeaderSeq(t, again), e.seq(t), len(evs))
		}

		// gRPC: the same, for a batch.
		tc := workspacev1.NewTaskServiceClient(env.Conn)
		ctx := metadata.AppendToOutgoingContext(env.Ctx(key), "idempotency-key", "evl-2")
		req := &workspacev1.BatchCreateTasksRequest{Tasks: []*workspacev1.CreateTaskRequest{{Title: "a", ProjectId: proj["id"].(string)}, {Title: "b", ProjectId: proj["id"].(string)}}}
		var md1, md2 metadata.MD
		if _, err := tc.BatchCreateTasks(ctx, req, grpc.Header(&md1)); err != nil {
			t.Fatal(err)
		}
		evlPost(t, env, "POST", "/v1/projects", key, `{"name":"later still"}`, 201)
		if _, err := tc.BatchCreateTasks(ctx, req, grpc.Header(&md2)); err != nil {
			t.Fatal(err)
		}
		if md2.Get("idempotent-replayed") == nil || md1.Get("x-event-seq") == nil || !slices.Equal(md1.Get("x-event-seq"), md2.Get("x-event-seq")) {
			t.Errorf("gRPC: x-event-seq %v, then %v on the replay (replayed %v)", md1.Get("x-event-seq"), md2.Get("x-event-seq"), md2.Get("idempotent-replayed"))
		}
		if n := len(evlAll(t, env, key, "task.created")); n != 3 {
			t.Errorf("%d task.created events, want 3: a replay appends nothing", n)
		}
	})
}

// TestEventContents: an event's data is its resource as its GET renders it,
// previous the changed top-level fields of an update (null otherwise),
// request_id the request's X-Request-Id, key_id the caller's key; the CLI's
// writes carry neither.
func TestEventContents(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		ws, admin := env.NewWorkspace("enterprise")
		k, _ := evlPost(t, env, "POST", "/v1/api-keys", admin, `{"name":"writer","scopes":["read","write"]}`, 201)
		key, keyID := k["key"].(string), k["id"].(string)

		proj, _ := evlPost(t, env, "POST", "/v1/projects", key, `{"name":"P"}`, 201, "X-Request-Id", "evl-req-1")
		env.Clock.Advance(2 * time.Second)
		task, r := evlPost(t, env, "POST", "/v1/tasks", key, `{"title":"T","project_id":"`+proj["id"].(string)+`","due_at":"2030-01-02T03:04:05Z"}`, 201)
		generatedID := r.Header.Get("X-Request-Id")
		env.Clock.Advance(2 * time.Second)
		evlPost(t, env, "PATCH", "/v1/tasks/"+task["id"].(string), key, `{"status":"completed","due_at":null}`, 200)
		got, _ := evlPost(t, env, "GET", "/v1/tasks/"+task["id"].(string), key, "", 200)

		evs := evlAll(t, env, admin, "")
		created := evlFind(t, evs, "task.created", task["id"].(string))
		updated := evlFind(t, evs, "task.updated", task["id"].(string))
		if !reflect.DeepEqual(updated.Data, got) {
			t.Errorf("task.updated data %v, its GET %v", updated.Data, got)
		}
		if !reflect.DeepEqual(created.Data, task) {
			t.Errorf("task.created data %v, the create's answer %v", created.Data, task)
		}
		wantPrev := map[string]any{"status": "todo", "due_at": "2030-01-02T03:04:05Z", "completed_at": nil, "updated_at": task["updated_at"], "etag": `"1"`}
		if !reflect.DeepEqual(updated.Previous, wantPrev) {
			t.Errorf("task.updated previous %v, want %v", updated.Previous, wantPrev)
		}
		if string(created.raw["previous"]) != "null" {
			t.Errorf("task.created previous %s, want null", created.raw["previous"])
		}
		// created_at is when the change committed (the wall clock; the
		// test's fake one stamps the records).
		if at, err := time.Parse(time.RFC3339, created.CreatedAt); !strings.HasPrefix(created.ID, "evt_") || err != nil || time.Since(at) > time.Hour || at.Nanosecond() != 0 {
			t.Errorf("task.created id %q created_at %q", created.ID, created.CreatedAt)
		}
		if string(created.raw["seq"]) != strconv.Quote(created.Seq) {
			t.Errorf("seq is written %s, want a decimal string", created.raw["seq"])
		}
		pe := evlFind(t, evs, "project.created", proj["id"].(string))
		if pe.RequestID == nil || *pe.RequestID != "evl-req-1" || pe.KeyID == nil || *pe.KeyID != keyID {
			t.Errorf("project.created request_id %v key_id %v, want evl-req-1 and %s", pe.RequestID, pe.KeyID, keyID)
		}
		if created.RequestID == nil || *created.RequestID != generatedID || generatedID == "" {
			t.Errorf("task.created request_id %v, the answer's X-Request-Id %q", created.RequestID, generatedID)
		}
		ke := evlFind(t, evs, "api_key.created", keyID)
		if _, leaked := ke.Data["key"]; leaked || ke.Data["prefix"] == nil {
			t.Errorf("api_key.created data %v: the secret must not be in it", ke.Data)
		}

		// gRPC's request id.
		pc := workspacev1.NewProjectServiceClient(env.Conn)
		gp, err := pc.CreateProject(metadata.AppendToOutgoingContext(env.Ctx(key), "x-request-id", "evl-req-2"), &workspacev1.CreateProjectRequest{Name: "G"})
		if err != nil {
			t.Fatal(err)
		}
		c := workspacev1.NewEventServiceClient(env.Conn)
		resp, err := c.ListEvents(env.Ctx(key), &workspacev1.ListEventsRequest{Types: "project.created"})
		if err != nil {
			t.Fatal(err)
		}
		last := resp.GetData()[len(resp.GetData())-1]
		if last.GetData().GetFields()["id"].GetStringValue() != gp.GetProject().GetId() || last.GetRequestId() != "evl-req-2" || last.GetKeyId() != keyID {
			t.Errorf("gRPC event %v: want the project, request id evl-req-2, key %s", last, keyID)
		}

		// The CLI's plan change: no request, no key.
		env.SetPlan(ws, ratelimit.Pro)
		evs = evlAll(t, env, admin, "workspace.updated")
		if len(evs) != 1 {
			t.Fatalf("%d workspace.updated events, want 1", len(evs))
		}
		w := evs[0]
		if w.Data["id"] != ws || w.Data["plan"] != "pro" || !reflect.DeepEqual(w.Previous, map[string]any{"plan": "enterprise"}) {
			t.Errorf("workspace.updated data %v previous %v", w.Data, w.Previous)
		}
		if _, ok := w.raw["request_id"]; ok || w.RequestID != nil || w.KeyID != nil {
			t.Errorf("workspace.updated by the CLI: request_id %v key_id %v, want absent", w.RequestID, w.KeyID)
		}
	})
}

// TestEventsRetention: events older than the retention are pruned in the
// background; reading after a pruned position is 410 EVENTS_EXPIRED (gRPC
// OUT_OF_RANGE), and reading on from the pruned seq works.
func TestEventsRetention(t *testing.T) {
	// The pruner's clock: the wall clock until the test sets aged, then an
	// hour (the retention) after aged: what was logged before aged is old,
	// what is logged after it is not.
	var aged atomic.Int64
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		aged.Store(0)
		_, key := env.NewWorkspace("enterprise")
		for i := 0; i < 3; i++ {
			evlPost(t, env, "POST", "/v1/projects", key, fmt.Sprintf(`{"name":"p%d"}`, i), 201)
		}
		pruned := evlList(t, env, key, "").events[3].seq(t) // the key's, then the projects'
		aged.Store(time.Now().UnixNano())
		// The pruner runs every few milliseconds here: wait until it has.
		deadline := time.Now().Add(20 * time.Second)
		var r *servertest.Response
		for {
			r = env.REST("GET", "/v1/events?after=0", key, "")
			if r.Status != http.StatusOK || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if code, _, details := extRESTError(t, r); r.Status != http.StatusGone || code != "EVENTS_EXPIRED" ||
			!extDetailsEqual(details, map[string]string{"last_seq": strconv.FormatInt(pruned, 10), "pruned_seq": strconv.FormatInt(pruned, 10)}) {
			t.Fatalf("after=0 past the retention: %d %s, want 410 EVENTS_EXPIRED saying last_seq and pruned_seq %d", r.Status, r.Body, pruned)
		}
		evlRefusedGone := func(after int64) {
			t.Helper()
			_, err := workspacev1.NewEventServiceClient(env.Conn).ListEvents(env.Ctx(key), &workspacev1.ListEventsRequest{AfterSeq: after})
			if st, info := extErrorInfo(err); st.Code() != codes.OutOfRange || info.GetReason() != "EVENTS_EXPIRED" || info.GetMetadata()["last_seq"] == "" {
				t.Errorf("gRPC after_seq %d: %v, want OUT_OF_RANGE EVENTS_EXPIRED", after, err)
			}
		}
		evlRefusedGone(0)
		evlRefusedGone(pruned - 1)
		if p := evlList(t, env, key, fmt.Sprintf("after=%d", pruned)); len(p.events) != 0 || p.total != 0 {
			t.Errorf("after the pruned seq: %d events, total %v", len(p.events), p.total)
		}
		evlPost(t, env, "POST", "/v1/projects", key, `{"name":"new"}`, 201)
		if p := evlList(t, env, key, fmt.Sprintf("after=%d", pruned)); len(p.events) != 1 || p.events[0].seq(t) != pruned+1 {
			t.Errorf("after the pruned seq, a new event: %v", evlSeqs(t, p.events))
		}
	}, func(c *server.Config) {
		c.EventRetention = time.Hour
		c.EventPruneInterval = 5 * time.Millisecond
		c.EventClock = func() time.Time {
			if at := aged.Load(); at != 0 {
				return time.Unix(0, at).Add(time.Hour)
			}
			return time.Now()
		}
	})
}

// TestEventRetentionBelowMinimum: the server refuses to start with a
// retention under an hour.
func TestEventRetentionBelowMinimum(t *testing.T) {
	for _, d := range []time.Duration{-time.Hour, time.Minute, 59 * time.Minute} {
		_, err := server.New(t.Context(), server.Config{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Database: t.TempDir() + "/x.db", EventRetention: d})
		if err == nil || !strings.Contains(err.Error(), "event retention") {
			t.Errorf("EventRetention %s: %v, want a refusal", d, err)
		}
	}
}

// TestEventPrunerWorksOffABacklog: a server started on a log whose events
// are all old prunes them all at once, 500 at a time, without waiting an
// interval between full batches.
func TestEventPrunerWorksOffABacklog(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			db := t.TempDir() + "/backlog.db"
			if backend == "postgres" {
				db = pgtest.NewDatabase(t)
			}
			env := servertest.Start(t, func(c *server.Config) { c.Database = db })
			ws, key := env.NewWorkspace("enterprise")
			proj, _ := evlPost(t, env, "POST", "/v1/projects", key, `{"name":"P"}`, 201)
			items := strings.TrimSuffix(strings.Repeat(`{"title":"t","project_id":"`+proj["id"].(string)+`"},`, 100), ",")
			for i := 0; i < 11; i++ {
				evlPost(t, env, "POST", "/v1/tasks:batchCreate", key, `{"tasks":[`+items+`]}`, 201)
			}
			if err := env.Stop(); err != nil {
				t.Fatal(err)
			}
			aged := time.Now()

			// Again, on the same database, an hour of interval: only the
			// first pass and the passes it chains at once can prune.
			ctx, cancel := context.WithCancel(t.Context())
			srv, err := server.New(ctx, server.Config{
				HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Database: db,
				EventRetention: time.Hour, EventPruneInterval: time.Hour,
				EventClock: func() time.Time { return aged.Add(time.Hour) },
			})
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- srv.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			deadline := time.Now().Add(30 * time.Second)
			for {
				head, err := srv.Store().EventHead(ctx, ws)
				if err != nil {
					t.Fatal(err)
				}
				if head.LastSeq != 1+1+1100 {
					t.Fatalf("the log's head %d, want 1102", head.LastSeq)
				}
				if head.PrunedSeq == head.LastSeq {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("pruned through %d of %d", head.PrunedSeq, head.LastSeq)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
