package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/migrate"
	"github.com/example/workspace/store/postgres/pgtest"
	"github.com/example/workspace/store/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// newStore opens a Store on a fresh database that is dropped after the test.
func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// Registered after NewDatabase's cleanup, so it runs before the DROP.
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func wantNotFound(t *testing.T, what string, err error, resource string) {
	t.Helper()
	var nf *store.NotFoundError
	if !errors.As(err, &nf) || nf.Resource != resource || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want NotFound(%q)", what, err, resource)
	}
}

func wantConflict(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("%s: err = %v, want ErrConflict", what, err)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestSmoke covers what the conformance suite cannot see from outside: the
// mapping of PostgreSQL's errors, time zones and precision, and the
// nil/empty distinction of scopes.
func TestSmoke(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	must(t, "Ping", s.Ping(ctx))

	// A zone other than UTC and nanoseconds, to see both normalised.
	zone := time.FixedZone("X", 3*3600)
	now := time.Date(2030, 1, 2, 3, 4, 5, 123456789, zone)
	wantNow := now.UTC().Truncate(time.Microsecond)

	ws := store.Workspace{ID: "w1", Name: "One", Plan: "free", CreatedAt: now}
	must(t, "CreateWorkspace", s.CreateWorkspace(ctx, ws))
	wantConflict(t, "CreateWorkspace dup", s.CreateWorkspace(ctx, ws))
	must(t, "CreateWorkspace w2", s.CreateWorkspace(ctx, store.Workspace{ID: "w2", Name: "Two", Plan: "pro", CreatedAt: now}))
	got, err := s.GetWorkspace(ctx, "w1")
	must(t, "GetWorkspace", err)
	if !got.CreatedAt.Equal(wantNow) || got.CreatedAt.Location() != time.UTC || got.CreatedAt != wantNow {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, wantNow)
	}
	must(t, "SetWorkspacePlan", s.SetWorkspacePlan(ctx, "w1", "pro"))
	wantNotFound(t, "SetWorkspacePlan missing", s.SetWorkspacePlan(ctx, "nope", "pro"), "workspace")
	_, err = s.GetWorkspace(ctx, "nope")
	wantNotFound(t, "GetWorkspace missing", err, "workspace")

	p := store.Project{ID: "p1", WorkspaceID: "w1", Name: "P", CreatedAt: now, UpdatedAt: now}
	must(t, "CreateProject", s.CreateProject(ctx, p))
	wantConflict(t, "CreateProject dup", s.CreateProject(ctx, p))
	wantNotFound(t, "CreateProject no workspace", s.CreateProject(ctx, store.Project{ID: "p9", WorkspaceID: "nope"}), "workspace")
	must(t, "CreateProject w2", s.CreateProject(ctx, store.Project{ID: "p2", WorkspaceID: "w2", Name: "Q", CreatedAt: now, UpdatedAt: now}))
	_, err = s.GetProject(ctx, "w1", "p2")
	wantNotFound(t, "GetProject foreign", err, "project")

	due := now.Add(time.Hour)
	task := store.Task{ID: "t1", WorkspaceID: "w1", ProjectID: "p1", Title: "T", Status: "open", DueAt: &due, CreatedAt: now, UpdatedAt: now}
	must(t, "CreateTask", s.CreateTask(ctx, task))
	wantConflict(t, "CreateTask dup", s.CreateTask(ctx, task))
	foreign := task
	foreign.ID, foreign.ProjectID = "t2", "p2"
	wantNotFound(t, "CreateTask foreign project", s.CreateTask(ctx, foreign), "project")
	gotTask, err := s.GetTask(ctx, "w1", "t1")
	must(t, "GetTask", err)
	if gotTask.DueAt == nil || *gotTask.DueAt != due.UTC().Truncate(time.Microsecond) || gotTask.CompletedAt != nil {
		t.Errorf("DueAt, CompletedAt = %v, %v", gotTask.DueAt, gotTask.CompletedAt)
	}

	// UpdateTask: moving to a foreign project, callback errors, kept fields.
	_, err = s.UpdateTask(ctx, "w1", "t1", func(t *store.Task) error { t.ProjectID = "p2"; return nil })
	wantNotFound(t, "UpdateTask foreign project", err, "project")
	boom := errors.New("boom")
	if _, err := s.UpdateTask(ctx, "w1", "t1", func(*store.Task) error { return boom }); err != boom {
		t.Errorf("UpdateTask callback error = %v, want it as is", err)
	}
	_, err = s.UpdateTask(ctx, "w2", "t1", func(*store.Task) error { t.Error("callback on foreign task"); return nil })
	wantNotFound(t, "UpdateTask foreign", err, "task")
	upd, err := s.UpdateTask(ctx, "w1", "t1", func(t *store.Task) error {
		t.ID, t.WorkspaceID, t.CreatedAt = "x", "w2", time.Time{}
		t.Status, t.DueAt = "done", nil
		return nil
	})
	must(t, "UpdateTask", err)
	if upd.ID != "t1" || upd.WorkspaceID != "w1" || upd.CreatedAt != wantNow || upd.Status != "done" || upd.DueAt != nil {
		t.Errorf("UpdateTask = %+v", upd)
	}

	// Scopes: nil and empty both come back as they went in.
	hash := bytes.Repeat([]byte{1}, 32)
	k := store.APIKey{ID: "k1", WorkspaceID: "w1", Name: "K", Prefix: "pre", Hash: hash, CreatedAt: now}
	must(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
	k2 := k
	k2.ID = "k2"
	wantConflict(t, "CreateAPIKey dup hash", s.CreateAPIKey(ctx, k2))
	k2.Hash, k2.Scopes = bytes.Repeat([]byte{2}, 32), []string{}
	must(t, "CreateAPIKey k2", s.CreateAPIKey(ctx, k2))
	k3 := k2
	k3.ID, k3.WorkspaceID, k3.Hash = "k3", "nope", []byte{3}
	wantNotFound(t, "CreateAPIKey no workspace", s.CreateAPIKey(ctx, k3), "workspace")
	g1, err := s.GetAPIKey(ctx, "k1")
	must(t, "GetAPIKey", err)
	g2, err := s.GetAPIKey(ctx, "k2")
	must(t, "GetAPIKey", err)
	if g1.Scopes != nil || g2.Scopes == nil || len(g2.Scopes) != 0 {
		t.Errorf("scopes = %#v, %#v; want nil, empty", g1.Scopes, g2.Scopes)
	}

	// Revoke keeps the first time; Touch only moves forward.
	r1, err := s.RevokeAPIKey(ctx, "w1", "k1", now)
	must(t, "RevokeAPIKey", err)
	r2, err := s.RevokeAPIKey(ctx, "w1", "k1", now.Add(time.Hour))
	must(t, "RevokeAPIKey again", err)
	if r1.RevokedAt == nil || r2.RevokedAt == nil || *r2.RevokedAt != wantNow {
		t.Errorf("RevokedAt = %v then %v, want %v", r1.RevokedAt, r2.RevokedAt, wantNow)
	}
	_, err = s.RevokeAPIKey(ctx, "w2", "k1", now)
	wantNotFound(t, "RevokeAPIKey foreign", err, "api_key")
	must(t, "TouchAPIKey", s.TouchAPIKey(ctx, "k1", now.Add(time.Minute)))
	must(t, "TouchAPIKey earlier", s.TouchAPIKey(ctx, "k1", now))
	wantNotFound(t, "TouchAPIKey missing", s.TouchAPIKey(ctx, "nope", now), "api_key")
	lk, lw, err := s.LookupAPIKey(ctx, hash)
	must(t, "LookupAPIKey", err)
	if lk.ID != "k1" || lw.ID != "w1" || lw.Plan != "pro" || lk.LastUsedAt == nil || *lk.LastUsedAt != wantNow.Add(time.Minute) {
		t.Errorf("LookupAPIKey = %+v, %+v", lk, lw)
	}
	_, _, err = s.LookupAPIKey(ctx, []byte("nope"))
	wantNotFound(t, "LookupAPIKey missing", err, "api_key")

	// DeleteProject takes the tasks with it.
	must(t, "DeleteProject", s.DeleteProject(ctx, "w1", "p1"))
	_, err = s.GetTask(ctx, "w1", "t1")
	wantNotFound(t, "GetTask after DeleteProject", err, "task")
	wantNotFound(t, "DeleteProject again", s.DeleteProject(ctx, "w1", "p1"), "project")
	wantNotFound(t, "DeleteProject foreign", s.DeleteProject(ctx, "w1", "p2"), "project")
	_, _, err = s.ListTasks(ctx, "w1", store.TaskFilter{ProjectID: "p2"}, store.Page{Limit: 1})
	wantNotFound(t, "ListTasks foreign project", err, "project")
}

// TestListPages checks the totals, including those listPage derives without
// counting, against every slice of a list.
func TestListPages(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, "CreateWorkspace", s.CreateWorkspace(ctx, store.Workspace{ID: "w", CreatedAt: base}))
	must(t, "CreateWorkspace", s.CreateWorkspace(ctx, store.Workspace{ID: "other", CreatedAt: base}))
	must(t, "CreateProject", s.CreateProject(ctx, store.Project{ID: "other-p", WorkspaceID: "other", CreatedAt: base}))
	const n = 5
	var want []string
	for i := range n {
		id := string(rune('a' + i))
		// Two share a created_at, so that the id breaks the tie.
		at := base.Add(time.Duration(min(i, 3)) * time.Second)
		must(t, "CreateProject", s.CreateProject(ctx, store.Project{ID: id, WorkspaceID: "w", CreatedAt: at, UpdatedAt: at}))
		want = append(want, id)
	}
	slices.Reverse(want)
	for limit := 1; limit <= n+1; limit++ {
		for offset := 0; offset <= n+1; offset++ {
			ps, total, err := s.ListProjects(ctx, "w", store.ProjectFilter{}, store.Page{Limit: limit, Offset: offset})
			must(t, "ListProjects", err)
			var ids []string
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			wantIDs := want[min(offset, n):min(offset+limit, n)]
			if total != n || !slices.Equal(ids, wantIDs) {
				t.Errorf("ListProjects(limit %d, offset %d) = %v, %d; want %v, %d", limit, offset, ids, total, wantIDs, n)
			}
		}
	}
	if _, _, err := s.ListProjects(ctx, "w", store.ProjectFilter{}, store.Page{Limit: 0}); err == nil {
		t.Error("ListProjects with Limit 0: no error")
	}
}

// TestConcurrentOpen starts several replicas at once on an empty database:
// all must start, and each migration must be applied by exactly one.
func TestConcurrentOpen(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ms, err := migrate.Load(migrationFS, "migrations")
	must(t, "migrate.Load", err)

	const replicas = 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied []string
	)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() {
			s, a, err := open(t.Context(), url)
			errs[i] = err
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = s.Close() })
			mu.Lock()
			applied = append(applied, a...)
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Open: %v", i, err)
		}
	}
	var want []string
	for _, m := range ms {
		want = append(want, m.Name)
	}
	slices.Sort(applied)
	if !slices.Equal(applied, want) {
		t.Errorf("applied across replicas = %v, want each of %v once", applied, want)
	}
	again, err := Migrate(t.Context(), url)
	if err != nil || len(again) != 0 {
		t.Errorf("Migrate after Open = %v, %v; want nothing to apply", again, err)
	}
}

// TestConcurrentBootstrap races replicas, each with its own pool, to
// bootstrap one empty database: exactly one may create its workspace.
func TestConcurrentBootstrap(t *testing.T) {
	url := pgtest.NewDatabase(t)
	const replicas = 8
	stores := make([]*Store, replicas)
	for i := range stores {
		s, err := Open(t.Context(), url)
		must(t, "Open", err)
		t.Cleanup(func() { _ = s.Close() })
		stores[i] = s
	}

	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	created := make([]bool, replicas)
	errs := make([]error, replicas)
	// Released together so that the calls really overlap.
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			id := "w" + string(rune('0'+i))
			ws := store.Workspace{ID: id, Name: id, Plan: "free", CreatedAt: at}
			key := store.APIKey{ID: "k" + id, WorkspaceID: id, Prefix: "p", Hash: []byte(id), CreatedAt: at}
			<-start
			created[i], errs[i] = s.Bootstrap(t.Context(), ws, key)
		})
	}
	close(start)
	wg.Wait()

	winners := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: Bootstrap: %v", i, errs[i])
		}
		if created[i] {
			winners++
		}
	}
	var workspaces, keys int
	must(t, "count", stores[0].pool.QueryRow(t.Context(),
		"SELECT (SELECT count(*) FROM workspaces), (SELECT count(*) FROM api_keys)").Scan(&workspaces, &keys))
	if winners != 1 || workspaces != 1 || keys != 1 {
		t.Errorf("%d Bootstrap calls reported creating, %d workspaces and %d keys stored; want 1 each", winners, workspaces, keys)
	}
}

// TestUnreachableIsUnavailable cuts the database away from a store that was
// serving: reads, list snapshots (BEGIN), writes and Ping all fail with
// ErrUnavailable, the driver's error kept beside it, and serve again once the
// database is back.
func TestUnreachableIsUnavailable(t *testing.T) {
	url, proxy := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	s, err := Open(t.Context(), url)
	must(t, "Open", err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, "CreateWorkspace", s.CreateWorkspace(ctx, store.Workspace{ID: "w", Name: "W", Plan: "free", CreatedAt: at}))

	calls := map[string]func() error{
		"GetWorkspace": func() error { _, err := s.GetWorkspace(ctx, "w"); return err },
		"ListProjects": func() error {
			_, _, err := s.ListProjects(ctx, "w", store.ProjectFilter{}, store.Page{Limit: 20})
			return err
		},
		"CreateProject": func() error {
			return s.CreateProject(ctx, store.Project{ID: "p", WorkspaceID: "w", CreatedAt: at, UpdatedAt: at})
		},
		"UpdateProject": func() error {
			_, err := s.UpdateProject(ctx, "w", "p", func(*store.Project) error { return nil })
			return err
		},
		"Ping": func() error { return s.Ping(ctx) },
	}
	proxy.Cut()
	for name, call := range calls {
		err := call()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s while cut: %v, want ErrUnavailable", name, err)
			continue
		}
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || err.Error() == store.ErrUnavailable.Error() {
			t.Errorf("%s while cut: %q, want only ErrUnavailable, with its cause", name, err)
		}
	}
	proxy.Restore()
	// The pool may still hold a connection the cut broke; a poll against a
	// deadline finds the store serving again.
	deadline := time.Now().Add(10 * time.Second)
	for name, call := range calls {
		for {
			err := call()
			if err == nil || errors.Is(err, store.ErrNotFound) {
				break // UpdateProject may come before CreateProject
			}
			if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
				t.Fatalf("%s after restore: %v", name, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestServerErrorsAreNotUnavailable: an answer of the server about the
// statement is the statement's error, and a caller's own deadline is not the
// database's unavailability.
func TestServerErrorsAreNotUnavailable(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	// A syntax error (SQLSTATE 42601), through the one choke point.
	_, err := s.pool.Exec(ctx, "SELEC 1")
	if err == nil {
		t.Fatal("bad SQL succeeded")
	}
	if got := dbError(ctx, "test", err); errors.Is(got, store.ErrUnavailable) {
		t.Errorf("syntax error classified as unavailable: %v", got)
	}
	// The caller's deadline passes while the server is busy.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = s.pool.Exec(short, "SELECT pg_sleep(5)")
	if err == nil {
		t.Fatal("pg_sleep(5) finished within 50ms")
	}
	if got := dbError(short, "test", err); errors.Is(got, store.ErrUnavailable) {
		t.Errorf("the caller's own deadline classified as unavailable: %v", got)
	}
	// The same SQLSTATEs the server sends when it shuts down or refuses.
	for _, code := range []string{"08006", "57P01", "57P02", "57P03", "53300"} {
		if got := dbError(ctx, "test", &pgconn.PgError{Code: code}); !errors.Is(got, store.ErrUnavailable) {
			t.Errorf("SQLSTATE %s: %v, want ErrUnavailable", code, got)
		}
	}
}

// TestMigrateCountersBackfill fills a database migrated up to 0004 (not included) with rows
// the way an older release stored them, then opens it: migration 0004 must
// count them, and the counters go on from there.
func TestMigrateCountersBackfill(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewDatabase(t)
	ms, err := migrate.Load(migrationFS, "migrations")
	must(t, "migrate.Load", err)
	conn, err := pgx.Connect(ctx, url)
	must(t, "connect", err)
	d := dialect{conn}
	must(t, "init", d.Init(ctx))
	for _, m := range ms {
		if m.Version < 4 {
			_, err := d.Apply(ctx, m)
			must(t, "apply "+m.Name, err)
		}
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	statuses := []string{"todo", "in_progress", "completed"}
	want := map[string][]store.Task{}
	projects := map[string][]string{"ws_1": {"proj_a", "proj_B"}, "ws_2": {"proj_c"}, "ws_3": nil}
	keys := map[string]int{"ws_1": 3, "ws_2": 1, "ws_3": 0}
	for _, ws := range []string{"ws_1", "ws_2", "ws_3"} {
		exec(`INSERT INTO workspaces VALUES ($1, 'W', 'free', now())`, ws)
		for _, p := range projects[ws] {
			exec(`INSERT INTO projects VALUES ($1, $2, 'P', '', now(), now())`, p, ws)
		}
		for i := range keys[ws] {
			id := fmt.Sprintf("key_%s_%d", ws, i)
			exec(`INSERT INTO api_keys VALUES ($1, $2, 'K', '{read}', 'wsk_x', $3, now(), NULL, NULL, NULL)`, id, ws, []byte(id))
		}
	}
	for i := range 11 {
		ws, p := "ws_1", []string{"proj_a", "proj_B"}[i%2]
		if i == 10 {
			ws, p = "ws_2", "proj_c"
		}
		task := store.Task{ID: fmt.Sprintf("task_%d", i), ProjectID: p, Status: statuses[i%3]}
		exec(`INSERT INTO tasks VALUES ($1, $2, $3, 'T', '', $4, NULL, NULL, now(), now())`, task.ID, ws, p, task.Status)
		want[ws] = append(want[ws], task)
	}
	must(t, "close", conn.Close(ctx))

	s, err := Open(ctx, url) // applies 0004 and what follows
	must(t, "Open", err)
	t.Cleanup(func() { _ = s.Close() })
	for _, ws := range []string{"ws_1", "ws_2", "ws_3"} {
		storetest.CheckTotals(t, s, "after the backfill", ws, projects[ws], want[ws], keys[ws])
	}
	task := store.Task{ID: "task_new", WorkspaceID: "ws_1", ProjectID: "proj_B", Title: "T", Status: "todo", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	must(t, "CreateTask", s.CreateTask(ctx, task))
	storetest.CheckTotals(t, s, "after a create", "ws_1", projects["ws_1"], append(want["ws_1"], task), keys["ws_1"])
}
