package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

// The event log: every write appends exactly its events, in its own
// transaction, numbered 1, 2, 3… per workspace with no gap.

// wantEvent is an event as a test expects it.
type wantEvent struct {
	typ    string
	data   store.Resource
	prev   *store.Resource
	origin store.Origin
}

// normResource is r as the log keeps it: times in UTC to the microsecond,
// no key hash, no pointer shared with the test's records.
func normResource(r store.Resource) store.Resource {
	tr := func(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }
	opt := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := tr(*t)
		return &u
	}
	var out store.Resource
	if p := r.Project; p != nil {
		c := *p
		c.CreatedAt, c.UpdatedAt = tr(c.CreatedAt), tr(c.UpdatedAt)
		out.Project = &c
	}
	if tk := r.Task; tk != nil {
		c := *tk
		c.CreatedAt, c.UpdatedAt, c.DueAt, c.CompletedAt = tr(c.CreatedAt), tr(c.UpdatedAt), opt(c.DueAt), opt(c.CompletedAt)
		out.Task = &c
	}
	if k := r.APIKey; k != nil {
		c := *k
		c.Hash = nil
		c.CreatedAt, c.LastUsedAt, c.ExpiresAt, c.RevokedAt = tr(c.CreatedAt), opt(c.LastUsedAt), opt(c.ExpiresAt), opt(c.RevokedAt)
		out.APIKey = &c
	}
	if w := r.Workspace; w != nil {
		c := *w
		c.CreatedAt = tr(c.CreatedAt)
		out.Workspace = &c
	}
	return out
}

// asJSON writes a resource out, pointers followed and times in RFC 3339 with
// their zone, for comparing a whole record at once.
func asJSON(r *store.Resource) string {
	if r == nil {
		return "null"
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

// allEvents reads the workspace's whole log, a few events a page.
func allEvents(t *testing.T, s store.Store, workspaceID string) []store.Event {
	t.Helper()
	var out []store.Event
	after := int64(0)
	for {
		page, total, err := s.ListEvents(t.Context(), workspaceID, store.EventFilter{After: after}, 3)
		if err != nil {
			t.Fatalf("ListEvents(%s, after %d): %v", workspaceID, after, err)
		}
		if len(page) > total {
			t.Fatalf("ListEvents(%s, after %d): %d events, total %d", workspaceID, after, len(page), total)
		}
		if len(page) == 0 {
			if total != 0 {
				t.Fatalf("ListEvents(%s, after %d): empty page, total %d", workspaceID, after, total)
			}
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

// checkEvents compares a workspace's whole log with want: seq 1, 2, 3…,
// each event's type, data, previous and origin, a unique evt_ id, and a
// creation time in UTC.
func checkEvents(t *testing.T, s store.Store, workspaceID string, want []wantEvent) {
	t.Helper()
	got := allEvents(t, s, workspaceID)
	if len(got) != len(want) {
		var types []string
		for _, e := range got {
			types = append(types, e.Type)
		}
		t.Fatalf("%s: %d events %q, want %d", workspaceID, len(got), types, len(want))
	}
	ids := map[string]bool{}
	for i, e := range got {
		w := want[i]
		what := fmt.Sprintf("%s: event %d (%s)", workspaceID, i+1, w.typ)
		if e.Seq != int64(i+1) || e.WorkspaceID != workspaceID || e.Type != w.typ {
			t.Errorf("%s: seq %d, workspace %s, type %s", what, e.Seq, e.WorkspaceID, e.Type)
		}
		if !strings.HasPrefix(e.ID, "evt_") || len(e.ID) < 20 || ids[e.ID] {
			t.Errorf("%s: id %q is not a new evt_ id", what, e.ID)
		}
		ids[e.ID] = true
		if e.CreatedAt.IsZero() || e.CreatedAt.Location() != time.UTC {
			t.Errorf("%s: created_at %v, want a time in UTC", what, e.CreatedAt)
		}
		if e.RequestID != w.origin.RequestID || e.KeyID != w.origin.KeyID {
			t.Errorf("%s: origin %q/%q, want %q/%q", what, e.RequestID, e.KeyID, w.origin.RequestID, w.origin.KeyID)
		}
		wd := normResource(w.data)
		if g, x := asJSON(&e.Data), asJSON(&wd); g != x {
			t.Errorf("%s: data\n got %s\nwant %s", what, g, x)
		}
		var wp *store.Resource
		if w.prev != nil {
			p := normResource(*w.prev)
			wp = &p
		}
		if g, x := asJSON(e.Previous), asJSON(wp); g != x {
			t.Errorf("%s: previous\n got %s\nwant %s", what, g, x)
		}
	}
}

// testEventsWrites makes every kind of write once and checks the log holds
// exactly its events, and that each write's receipt names its last one.
func testEventsWrites(t *testing.T, s store.Store) {
	var want []wantEvent
	origin := store.Origin{RequestID: "req_1", KeyID: "key_origin"}
	ctx := store.WithOrigin(t.Context(), origin)
	expect := func(typ string, data store.Resource, prev *store.Resource) {
		want = append(want, wantEvent{typ: typ, data: data, prev: prev, origin: origin})
	}
	// seq runs one write with a receipt and checks its Seq.
	seq := func(what string, wantSeq int64, write func(ctx context.Context) error) {
		t.Helper()
		rctx, r := store.WithEventReceipt(ctx)
		if err := write(rctx); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if r.Seq() != wantSeq {
			t.Errorf("%s: receipt seq %d, want %d", what, r.Seq(), wantSeq)
		}
	}

	ws := newWorkspace("ws_A")
	key := newKey(ws.ID, "key_boot", at(1))
	seq("Bootstrap", 1, func(ctx context.Context) error {
		ok, err := s.Bootstrap(ctx, ws, key)
		if err == nil && !ok {
			err = errors.New("did not bootstrap")
		}
		return err
	})
	expect(store.EventAPIKeyCreated, store.Resource{APIKey: &key}, nil)

	p := newProject(ws.ID, "proj_1", at(2))
	seq("CreateProject", 2, func(ctx context.Context) error { return s.CreateProject(ctx, p) })
	p.Version = 1
	expect(store.EventProjectCreated, store.Resource{Project: &p}, nil)

	var p2 store.Project
	seq("UpdateProject", 3, func(ctx context.Context) (err error) {
		p2, err = s.UpdateProject(ctx, ws.ID, p.ID, func(c *store.Project) error {
			c.Name, c.UpdatedAt = "Renamed", at(3)
			return nil
		})
		return err
	})
	expect(store.EventProjectUpdated, store.Resource{Project: &p2}, &store.Resource{Project: &p})

	t1 := newTask(ws.ID, p.ID, "task_1", "todo", at(4))
	seq("CreateTask", 4, func(ctx context.Context) error { return s.CreateTask(ctx, t1) })
	t1.Version = 1
	expect(store.EventTaskCreated, store.Resource{Task: &t1}, nil)

	t2, t3 := newTask(ws.ID, p.ID, "task_2", "todo", at(5)), newTask(ws.ID, p.ID, "task_3", "doing", at(6))
	t3.DueAt = nil
	seq("CreateTasks", 6, func(ctx context.Context) error { return s.CreateTasks(ctx, []store.Task{t2, t3}) })
	t2.Version, t3.Version = 1, 1
	expect(store.EventTaskCreated, store.Resource{Task: &t2}, nil)
	expect(store.EventTaskCreated, store.Resource{Task: &t3}, nil)

	var t1b store.Task
	seq("UpdateTask", 7, func(ctx context.Context) (err error) {
		t1b, err = s.UpdateTask(ctx, ws.ID, t1.ID, func(c *store.Task) error {
			c.Status, c.CompletedAt, c.DueAt, c.UpdatedAt = "done", ptr(at(7)), nil, at(7)
			return nil
		})
		return err
	})
	expect(store.EventTaskUpdated, store.Resource{Task: &t1b}, &store.Resource{Task: &t1})

	seq("DeleteTask", 8, func(ctx context.Context) error { return s.DeleteTask(ctx, ws.ID, t2.ID) })
	expect(store.EventTaskDeleted, store.Resource{Task: &t2}, nil)
	seq("DeleteTaskIf", 9, func(ctx context.Context) error {
		return s.DeleteTaskIf(ctx, ws.ID, t3.ID, func(store.Task) error { return nil })
	})
	expect(store.EventTaskDeleted, store.Resource{Task: &t3}, nil)

	k := newKey(ws.ID, "key_two", at(8))
	seq("CreateAPIKey", 10, func(ctx context.Context) error { return s.CreateAPIKey(ctx, k) })
	expect(store.EventAPIKeyCreated, store.Resource{APIKey: &k}, nil)
	var revoked store.APIKey
	seq("RevokeAPIKey", 11, func(ctx context.Context) (err error) {
		revoked, err = s.RevokeAPIKey(ctx, ws.ID, k.ID, at(9))
		return err
	})
	expect(store.EventAPIKeyRevoked, store.Resource{APIKey: &revoked}, &store.Resource{APIKey: &k})
	seq("RevokeAPIKey again", 0, func(ctx context.Context) error {
		_, err := s.RevokeAPIKey(ctx, ws.ID, k.ID, at(10))
		return err
	})

	seq("SetWorkspacePlan", 12, func(ctx context.Context) error { return s.SetWorkspacePlan(ctx, ws.ID, "pro") })
	pro := ws
	pro.Plan = "pro"
	expect(store.EventWorkspaceUpdated, store.Resource{Workspace: &pro}, &store.Resource{Workspace: &ws})
	seq("SetWorkspacePlan, same plan", 0, func(ctx context.Context) error { return s.SetWorkspacePlan(ctx, ws.ID, "pro") })

	// Writes that change no record of the log's: none appends.
	seq("TouchAPIKey", 0, func(ctx context.Context) error { return s.TouchAPIKey(ctx, k.ID, at(11)) })
	seq("ReserveIdempotencyKey", 0, func(ctx context.Context) error {
		_, _, err := s.ReserveIdempotencyKey(ctx, store.IdempotencyKey{WorkspaceID: ws.ID, Key: "idem",
			Fingerprint: hashOf("f"), CreatedAt: at(12)}, at(0), at(0))
		return err
	})
	seq("CompleteIdempotencyKey", 0, func(ctx context.Context) error {
		return s.CompleteIdempotencyKey(ctx, ws.ID, "idem", []byte("{}"), at(13))
	})

	// The cascade: a task.deleted for each task of the project, oldest
	// first, then the project.deleted.
	t4 := newTask(ws.ID, p.ID, "task_4", "todo", at(3))
	seq("CreateTask", 13, func(ctx context.Context) error { return s.CreateTask(ctx, t4) })
	t4.Version = 1
	expect(store.EventTaskCreated, store.Resource{Task: &t4}, nil)
	seq("DeleteProject", 16, func(ctx context.Context) error { return s.DeleteProject(ctx, ws.ID, p.ID) })
	expect(store.EventTaskDeleted, store.Resource{Task: &t4}, nil)
	expect(store.EventTaskDeleted, store.Resource{Task: &t1b}, nil)
	expect(store.EventProjectDeleted, store.Resource{Project: &p2}, nil)

	pIf := newProject(ws.ID, "proj_2", at(20))
	seq("CreateProject", 17, func(ctx context.Context) error { return s.CreateProject(ctx, pIf) })
	pIf.Version = 1
	expect(store.EventProjectCreated, store.Resource{Project: &pIf}, nil)
	seq("DeleteProjectIf", 18, func(ctx context.Context) error {
		return s.DeleteProjectIf(ctx, ws.ID, pIf.ID, func(store.Project) error { return nil })
	})
	expect(store.EventProjectDeleted, store.Resource{Project: &pIf}, nil)

	checkEvents(t, s, ws.ID, want)
	if h, err := s.EventHead(t.Context(), ws.ID); err != nil || h != (store.EventHead{LastSeq: 18}) {
		t.Errorf("EventHead = %+v, %v; want last 18, none pruned", h, err)
	}

	// Another workspace's log starts at 1; a write without an origin has
	// none.
	ws2 := newWorkspace("ws_B")
	k2 := newKey(ws2.ID, "key_bbb", at(30))
	if err := s.CreateWorkspaceWithKey(t.Context(), ws2, k2); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, ws2.ID, []wantEvent{{typ: store.EventAPIKeyCreated, data: store.Resource{APIKey: &k2}}})
}

// testEventsRollbacks: a write that fails or is rolled back appends
// nothing, and takes no seq: the next write's event follows without a gap.
func testEventsRollbacks(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(1))
	t1 := mustTask(t, s, ws.ID, p.ID, "task_1", "todo", at(2))
	failures := map[string]error{}
	_, failures["UpdateProject aborted"] = s.UpdateProject(ctx, ws.ID, p.ID, func(c *store.Project) error {
		c.Name = "no"
		return errAbort
	})
	_, failures["UpdateTask aborted"] = s.UpdateTask(ctx, ws.ID, t1.ID, func(c *store.Task) error {
		c.Title = "no"
		return errAbort
	})
	_, failures["UpdateTask to a missing project"] = s.UpdateTask(ctx, ws.ID, t1.ID, func(c *store.Task) error {
		c.ProjectID = randomID
		return nil
	})
	failures["DeleteProjectIf refused"] = s.DeleteProjectIf(ctx, ws.ID, p.ID, func(store.Project) error { return errAbort })
	failures["DeleteTaskIf refused"] = s.DeleteTaskIf(ctx, ws.ID, t1.ID, func(store.Task) error { return errAbort })
	failures["CreateTask conflict"] = s.CreateTask(ctx, newTask(ws.ID, p.ID, t1.ID, "todo", at(3)))
	failures["CreateTasks item 2 conflicts"] = s.CreateTasks(ctx, []store.Task{
		newTask(ws.ID, p.ID, "task_2", "todo", at(4)), newTask(ws.ID, p.ID, "task_3", "todo", at(5)),
		newTask(ws.ID, p.ID, t1.ID, "todo", at(6))})
	failures["CreateTasks item 1 has no project"] = s.CreateTasks(ctx, []store.Task{
		newTask(ws.ID, p.ID, "task_4", "todo", at(4)), newTask(ws.ID, randomID, "task_5", "todo", at(5))})
	failures["CreateProject conflict"] = s.CreateProject(ctx, newProject(ws.ID, p.ID, at(7)))
	failures["CreateAPIKey in a missing workspace"] = s.CreateAPIKey(ctx, newKey(randomID, "key_xyz", at(8)))
	failures["DeleteTask missing"] = s.DeleteTask(ctx, ws.ID, randomID)
	failures["DeleteProject missing"] = s.DeleteProject(ctx, ws.ID, randomID)
	_, failures["RevokeAPIKey missing"] = s.RevokeAPIKey(ctx, ws.ID, randomID, at(9))
	failures["SetWorkspacePlan missing"] = s.SetWorkspacePlan(ctx, randomID, "pro")
	for what, err := range failures {
		if err == nil {
			t.Errorf("%s: no error", what)
		}
	}
	t2 := mustTask(t, s, ws.ID, p.ID, "task_6", "todo", at(10))
	p.Version, t1.Version, t2.Version = 1, 1, 1
	checkEvents(t, s, ws.ID, []wantEvent{
		{typ: store.EventProjectCreated, data: store.Resource{Project: &p}},
		{typ: store.EventTaskCreated, data: store.Resource{Task: &t1}},
		{typ: store.EventTaskCreated, data: store.Resource{Task: &t2}},
	})
	if _, err := s.EventHead(ctx, randomID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EventHead of a missing workspace: %v, want NotFound", err)
	}
	if h, err := s.EventHead(ctx, ws.ID); err != nil || h.LastSeq != 3 {
		t.Errorf("EventHead = %+v, %v; want last 3", h, err)
	}
}

// testEventsTenancy: a workspace's log holds its own events only, numbered
// on its own.
func testEventsTenancy(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustWorkspace(t, s, "ws_A"), mustWorkspace(t, s, "ws_B")
	fresh := mustWorkspace(t, s, "ws_C")
	pa := mustProject(t, s, a.ID, "proj_a", at(1))
	pb := mustProject(t, s, b.ID, "proj_b", at(2))
	mustTask(t, s, b.ID, pb.ID, "task_b", "todo", at(3))
	mustTask(t, s, a.ID, pa.ID, "task_a", "todo", at(4))
	for ws, n := range map[string]int{a.ID: 2, b.ID: 2} {
		evs := allEvents(t, s, ws)
		if len(evs) != n {
			t.Errorf("%s: %d events, want %d", ws, len(evs), n)
		}
		for i, e := range evs {
			id := ""
			if e.Data.Project != nil {
				id = e.Data.Project.WorkspaceID
			} else if e.Data.Task != nil {
				id = e.Data.Task.WorkspaceID
			}
			if e.WorkspaceID != ws || id != ws || e.Seq != int64(i+1) {
				t.Errorf("%s: event %d of workspace %s (record's %s), seq %d", ws, i, e.WorkspaceID, id, e.Seq)
			}
		}
	}
	for _, ws := range []string{fresh.ID, randomID} {
		if evs, total, err := s.ListEvents(ctx, ws, store.EventFilter{}, 10); err != nil || len(evs) != 0 || total != 0 {
			t.Errorf("ListEvents(%s) = %d events, total %d, %v; want none", ws, len(evs), total, err)
		}
	}
	if h, err := s.EventHead(ctx, fresh.ID); err != nil || h != (store.EventHead{}) {
		t.Errorf("EventHead of a workspace without events = %+v, %v; want zeros", h, err)
	}
}

// testEventsFilter: types, paging after a seq, totals, and the arguments
// refused.
func testEventsFilter(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(1)) // 1
	for i := range 4 {                             // 2-5
		mustTask(t, s, ws.ID, p.ID, fmt.Sprintf("task_%d", i), "todo", at(2+i))
	}
	if _, err := s.UpdateTask(ctx, ws.ID, "task_1", func(c *store.Task) error { c.Title = "x"; return nil }); err != nil { // 6
		t.Fatal(err)
	}
	if err := s.DeleteTask(ctx, ws.ID, "task_2"); err != nil { // 7
		t.Fatal(err)
	}
	seqs := func(evs []store.Event) []int64 {
		out := []int64{}
		for _, e := range evs {
			out = append(out, e.Seq)
		}
		return out
	}
	cases := []struct {
		filter    store.EventFilter
		limit     int
		wantSeqs  string
		wantTotal int
	}{
		{store.EventFilter{}, 100, "[1 2 3 4 5 6 7]", 7},
		{store.EventFilter{After: 2}, 2, "[3 4]", 5},
		{store.EventFilter{After: 7}, 5, "[]", 0},
		{store.EventFilter{After: 70}, 5, "[]", 0},
		{store.EventFilter{Types: []string{store.EventTaskCreated}}, 2, "[2 3]", 4},
		{store.EventFilter{After: 3, Types: []string{store.EventTaskCreated}}, 10, "[4 5]", 2},
		{store.EventFilter{Types: []string{store.EventTaskDeleted, store.EventProjectCreated}}, 10, "[1 7]", 2},
		{store.EventFilter{Types: []string{store.EventTaskUpdated, store.EventTaskUpdated}}, 10, "[6]", 1},
		{store.EventFilter{Types: []string{"no.such_type"}}, 10, "[]", 0},
	}
	for _, c := range cases {
		evs, total, err := s.ListEvents(ctx, ws.ID, c.filter, c.limit)
		if err != nil {
			t.Errorf("ListEvents(%+v, %d): %v", c.filter, c.limit, err)
			continue
		}
		if got := fmt.Sprint(seqs(evs)); got != c.wantSeqs || total != c.wantTotal {
			t.Errorf("ListEvents(%+v, %d) = %s, total %d; want %s, total %d", c.filter, c.limit, got, total, c.wantSeqs, c.wantTotal)
		}
		for _, e := range evs {
			if len(c.filter.Types) > 0 && !strings.Contains(strings.Join(c.filter.Types, ","), e.Type) {
				t.Errorf("ListEvents(%+v): event of type %s", c.filter, e.Type)
			}
		}
	}
	for _, bad := range []struct {
		filter store.EventFilter
		limit  int
	}{{store.EventFilter{}, 0}, {store.EventFilter{}, -1}, {store.EventFilter{After: -1}, 10}} {
		if _, _, err := s.ListEvents(ctx, ws.ID, bad.filter, bad.limit); err == nil {
			t.Errorf("ListEvents(%+v, %d): no error", bad.filter, bad.limit)
		}
	}
}

// testEventsPrune: pruning deletes the oldest events of every workspace, at
// most limit at a time, and a read after a pruned position is refused.
func testEventsPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustWorkspace(t, s, "ws_A"), mustWorkspace(t, s, "ws_B")
	pa := mustProject(t, s, a.ID, "proj_a", at(1))
	for i := range 3 {
		mustTask(t, s, a.ID, pa.ID, fmt.Sprintf("task_%d", i), "todo", at(2+i))
	}
	mustProject(t, s, b.ID, "proj_b", at(1))
	// Every event so far was created before now; none before an hour ago.
	if n, err := s.PruneEvents(ctx, time.Now().Add(-time.Hour), 10); err != nil || n != 0 {
		t.Errorf("PruneEvents(an hour ago) = %d, %v; want 0", n, err)
	}
	if _, err := s.PruneEvents(ctx, time.Now(), 0); err == nil {
		t.Error("PruneEvents with limit 0: no error")
	}
	cut := time.Now().Add(time.Second)
	if n, err := s.PruneEvents(ctx, cut, 2); err != nil || n != 2 {
		t.Fatalf("PruneEvents(limit 2) = %d, %v; want 2", n, err)
	}
	ha, _ := s.EventHead(ctx, a.ID)
	hb, _ := s.EventHead(ctx, b.ID)
	if ha.LastSeq != 4 || hb.LastSeq != 1 || ha.PrunedSeq+hb.PrunedSeq != 2 {
		t.Errorf("after pruning 2: heads %+v and %+v; want last 4 and 1, 2 pruned in all", ha, hb)
	}
	// The rest, in rounds: the last returns fewer than its limit.
	total := 2
	for {
		n, err := s.PruneEvents(ctx, cut, 2)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 2 {
			break
		}
	}
	if total != 5 {
		t.Errorf("pruned %d events in all, want 5", total)
	}
	ha, _ = s.EventHead(ctx, a.ID)
	if ha != (store.EventHead{LastSeq: 4, PrunedSeq: 4}) {
		t.Errorf("head of a after pruning all = %+v, want 4 and 4", ha)
	}
	for _, after := range []int64{0, 3} {
		if _, _, err := s.ListEvents(ctx, a.ID, store.EventFilter{After: after}, 10); !errors.Is(err, store.ErrEventsExpired) {
			t.Errorf("ListEvents(after %d, pruned 4): %v, want ErrEventsExpired", after, err)
		}
	}
	if evs, total, err := s.ListEvents(ctx, a.ID, store.EventFilter{After: 4}, 10); err != nil || len(evs) != 0 || total != 0 {
		t.Errorf("ListEvents(after 4, pruned 4) = %d, %d, %v; want none", len(evs), total, err)
	}
	// The log goes on after the pruned position.
	mustTask(t, s, a.ID, pa.ID, "task_new", "todo", at(9))
	evs, total, err := s.ListEvents(ctx, a.ID, store.EventFilter{After: 4}, 10)
	if err != nil || len(evs) != 1 || evs[0].Seq != 5 || total != 1 {
		t.Errorf("ListEvents(after 4) after a new write = %+v, %d, %v; want seq 5", evs, total, err)
	}
}

// testEventsConcurrent has writers of two workspaces mix creates, updates
// (some aborted), deletes and batches, and checks each log is 1…n with no
// gap or repeat, holding exactly the events of the writes acknowledged,
// each at its receipt's seq.
func testEventsConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	wss := []store.Workspace{mustWorkspace(t, s, "ws_A"), mustWorkspace(t, s, "ws_B")}
	projects := map[string]store.Project{}
	for _, ws := range wss {
		projects[ws.ID] = mustProject(t, s, ws.ID, "proj_"+ws.ID, at(0))
	}
	type ack struct {
		seq  int64
		typ  string
		id   string // the task's
		ws   string
		last bool // the write's last event
	}
	var mu sync.Mutex
	var acks []ack
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			ws := wss[g%2].ID
			p := projects[ws].ID
			write := func(typ string, ids []string, fn func(ctx context.Context) error) {
				rctx, r := store.WithEventReceipt(ctx)
				if err := fn(rctx); err != nil {
					if !errors.Is(err, errAbort) {
						t.Errorf("%s %v: %v", typ, ids, err)
					}
					if r.Seq() != 0 {
						t.Errorf("%s %v failed, receipt %d", typ, ids, r.Seq())
					}
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for i, id := range ids {
					acks = append(acks, ack{seq: r.Seq() - int64(len(ids)-1-i), typ: typ, id: id, ws: ws, last: i == len(ids)-1})
				}
			}
			for i := range opsEach {
				id := fmt.Sprintf("task_g%dn%02d", g, i)
				write(store.EventTaskCreated, []string{id}, func(ctx context.Context) error {
					return s.CreateTask(ctx, newTask(ws, p, id, "todo", at(g*100+i)))
				})
				switch i % 5 {
				case 1:
					write(store.EventTaskUpdated, []string{id}, func(ctx context.Context) error {
						_, err := s.UpdateTask(ctx, ws, id, func(c *store.Task) error { c.Status = "done"; return nil })
						return err
					})
				case 2:
					write(store.EventTaskUpdated, []string{id}, func(ctx context.Context) error {
						_, err := s.UpdateTask(ctx, ws, id, func(c *store.Task) error { return errAbort })
						return err
					})
				case 3:
					write(store.EventTaskDeleted, []string{id}, func(ctx context.Context) error { return s.DeleteTask(ctx, ws, id) })
				case 4:
					b1, b2 := id+"b1", id+"b2"
					write(store.EventTaskCreated, []string{b1, b2}, func(ctx context.Context) error {
						return s.CreateTasks(ctx, []store.Task{newTask(ws, p, b1, "todo", at(1)), newTask(ws, p, b2, "todo", at(2))})
					})
				}
			}
		})
	}
	wg.Wait()
	byWS := map[string]map[int64]ack{}
	for _, a := range acks {
		if byWS[a.ws] == nil {
			byWS[a.ws] = map[int64]ack{}
		}
		if prev, dup := byWS[a.ws][a.seq]; dup {
			t.Errorf("%s: seq %d given to %s %s and %s %s", a.ws, a.seq, prev.typ, prev.id, a.typ, a.id)
		}
		byWS[a.ws][a.seq] = a
	}
	for _, ws := range wss {
		evs := allEvents(t, s, ws.ID)
		want := byWS[ws.ID]
		// The project's own event is seq 1, before any writer's.
		if len(evs) != len(want)+1 {
			t.Errorf("%s: %d events, want %d acknowledged + 1", ws.ID, len(evs), len(want))
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("%s: event %d has seq %d: a gap or a repeat", ws.ID, i, e.Seq)
			}
			if i == 0 {
				continue
			}
			a, ok := want[e.Seq]
			if !ok || e.Type != a.typ || e.Data.Task == nil || e.Data.Task.ID != a.id {
				t.Errorf("%s: seq %d is %s, want acknowledged %+v", ws.ID, e.Seq, e.Type, a)
			}
		}
	}
}

// testEventsFollow: a follower hears the store's own writes, and FollowEvents
// returns when its context ends and when the store closes.
func testEventsFollow(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(0))
	type note struct {
		ws  string
		seq int64
	}
	notes := make(chan note, 1024)
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.FollowEvents(fctx, func(ws string, seq int64) {
			select {
			case notes <- note{ws, seq}:
			default:
			}
		})
	}()
	// The follower may start after a write: write until one is heard.
	deadline := time.After(20 * time.Second)
	var last int64
	heard := false
	for i := 0; !heard; i++ {
		rctx, r := store.WithEventReceipt(ctx)
		if err := s.CreateTask(rctx, newTask(ws.ID, p.ID, fmt.Sprintf("task_%d", i), "todo", at(i))); err != nil {
			t.Fatal(err)
		}
		last = r.Seq()
		tick := time.NewTimer(50 * time.Millisecond)
	wait:
		for {
			select {
			case n := <-notes:
				if n.ws == "" {
					continue // a reconnect: nothing to check
				}
				if n.ws != ws.ID || n.seq < 1 || n.seq > last {
					t.Fatalf("notified %+v after writing seq %d of %s", n, last, ws.ID)
				}
				if n.seq == last {
					heard = true
					break wait
				}
			case <-tick.C:
				break wait
			case <-deadline:
				t.Fatal("no notification of the store's own writes")
			}
		}
		tick.Stop()
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("FollowEvents after its context ended: %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("FollowEvents did not return when its context ended")
	}

	// Close ends a follow too.
	closed := make(chan error, 1)
	go func() { closed <- s.FollowEvents(context.Background(), func(string, int64) {}) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("FollowEvents did not return when the store closed")
	}
}
