package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/migrate"
	"github.com/example/workspace/store/sqlite/engine"
	"github.com/example/workspace/store/storetest"
)

func openStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, filepath.Join(t.TempDir(), "workspace.db"))
	})
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	// Characters that mean something in a URI or a DSN must stay part of the
	// file name.
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%20chars&_pragma=x")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "workspace.db")
	created := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	ws := store.Workspace{ID: "ws_1", Name: "One", Plan: "free", CreatedAt: created}
	// Version 1: what a new record is stored at.
	p := store.Project{ID: "proj_1", WorkspaceID: ws.ID, Name: "P", CreatedAt: created, UpdatedAt: created, Version: 1}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.CreateWorkspace(ctx, ws); err != nil {
		t.Fatalf("CreateWorkspace: %v", err)
	}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}

	s = openStore(t, path)
	gotWS, err := s.GetWorkspace(ctx, ws.ID)
	if err != nil || gotWS != ws {
		t.Errorf("GetWorkspace after reopening = %+v, %v; want %+v", gotWS, err, ws)
	}
	gotP, err := s.GetProject(ctx, ws.ID, p.ID)
	if err != nil || gotP != p {
		t.Errorf("GetProject after reopening = %+v, %v; want %+v", gotP, err, p)
	}
	ok, err := s.Bootstrap(ctx, store.Workspace{ID: "ws_2", CreatedAt: created},
		store.APIKey{ID: "key_2", WorkspaceID: "ws_2", Hash: []byte("h"), CreatedAt: created})
	if err != nil || ok {
		t.Errorf("Bootstrap after reopening = %v, %v; want false, nil", ok, err)
	}
}

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "workspace.db")
	all, err := migrate.Load(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range all {
		names = append(names, m.Name)
	}
	if len(names) == 0 || names[0] != "0001_init" {
		t.Fatalf("embedded migrations = %q, want 0001_init first", names)
	}

	applied, err := Migrate(ctx, path)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if !slices.Equal(applied, names) {
		t.Errorf("first Migrate applied %q, want %q", applied, names)
	}
	applied, err = Migrate(ctx, path)
	if err != nil || len(applied) != 0 {
		t.Errorf("second Migrate = %q, %v; want nothing applied", applied, err)
	}

	// Open on a migrated file applies nothing more and finds the schema.
	s := openStore(t, path)
	if err := s.CreateWorkspace(ctx, store.Workspace{ID: "ws_1", CreatedAt: time.Unix(0, 0)}); err != nil {
		t.Fatalf("CreateWorkspace: %v", err)
	}
	var recorded []string
	err = s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return err
			}
			recorded = append(recorded, v)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recorded, names) {
		t.Errorf("schema_migrations = %q, want %q", recorded, names)
	}
	applied, err = Migrate(ctx, path)
	if err != nil || len(applied) != 0 {
		t.Errorf("Migrate while open = %q, %v; want nothing applied", applied, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	for _, path := range []string{"", ":memory:", filepath.Join(t.TempDir(), "missing", "workspace.db")} {
		if s, err := Open(ctx, path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// TestTimeRange checks that a time that int64 microseconds cannot hold (more
// than 292,000 years from 1970) is refused, not stored as a different time.
// Every time of RFC 3339's years 0001 to 9999 is stored: the conformance
// suite's Times/RFC3339Range (before migration 0003, nanoseconds refused the
// zero time and 2300 here).
func TestTimeRange(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, filepath.Join(t.TempDir(), "workspace.db"))
	for _, at := range []time.Time{time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-300000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		err := s.CreateWorkspace(ctx, store.Workspace{ID: "ws_1", CreatedAt: at})
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("CreateWorkspace(created %s) = %v, want a plain error", at, err)
		}
		if _, err := s.GetWorkspace(ctx, "ws_1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetWorkspace after the refused create: %v, want NotFound", err)
		}
	}
}

// TestMigrateTimesToMicroseconds opens a file written before migration 0003,
// whose times are unix nanoseconds, and reads back every time as the same
// instant rounded down to the microsecond, in the same list order — before
// the epoch too, where dividing alone would round up.
func TestMigrateTimesToMicroseconds(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "workspace.db")
	w, exec := migratedBefore(t, path, 3)
	utc := func(y int, mo time.Month, d, h, mi, sec, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, sec, ns, time.UTC)
	}
	times := []time.Time{ // increasing; the ids are in the same order
		utc(1677, 9, 21, 0, 12, 43, 145224192), // the first instant int64 nanoseconds hold
		utc(1969, 12, 31, 23, 59, 59, 999999500),
		utc(1969, 12, 31, 23, 59, 59, 999999700), // the same microsecond
		utc(1970, 1, 1, 0, 0, 0, 1500),
		utc(2025, 1, 2, 3, 4, 5, 123456789),
		time.Unix(0, 1<<63-1).UTC(), // the last one
	}
	exec(`INSERT INTO workspaces VALUES ('ws_1', 'One', 'free', ?)`, times[4].UnixNano())
	for i, at := range times {
		n := at.UnixNano()
		exec(`INSERT INTO projects VALUES (?, 'ws_1', 'P', '', ?, ?)`, fmt.Sprintf("proj_%d", i), n, n)
		exec(`INSERT INTO tasks VALUES (?, 'ws_1', 'proj_0', 'T', '', 'completed', NULL, ?, ?, ?)`, fmt.Sprintf("task_%d", i), n, n, n)
		exec(`INSERT INTO api_keys VALUES (?, 'ws_1', 'K', '["read"]', 'wsk_x', ?, ?, NULL, ?, ?)`, fmt.Sprintf("key_%d", i), []byte{byte(i)}, n, n, n)
		exec(`INSERT INTO idempotency_keys VALUES ('ws_1', ?, x'00', ?, NULL, NULL)`, fmt.Sprintf("idem_%d", i), n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	s := openStore(t, path) // applies 0003
	want := make([]time.Time, len(times))
	var newestFirst []string
	for i, at := range times {
		want[i] = time.UnixMicro(at.UnixMicro()).UTC()
		if want[i].After(at) || at.Sub(want[i]) >= time.Microsecond {
			t.Fatalf("bad expectation %s for %s", want[i], at)
		}
		newestFirst = append([]string{fmt.Sprintf("proj_%d", i)}, newestFirst...)
	}
	ws, err := s.GetWorkspace(ctx, "ws_1")
	if err != nil || !ws.CreatedAt.Equal(want[4]) {
		t.Errorf("workspace created_at = %s, %v; want %s", ws.CreatedAt, err, want[4])
	}
	projects, _, err := s.ListProjects(ctx, "ws_1", store.ProjectFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, p := range projects {
		order = append(order, p.ID)
	}
	if !slices.Equal(order, newestFirst) {
		t.Errorf("projects after the migration list as %q, want %q", order, newestFirst)
	}
	for i := range times {
		p, err := s.GetProject(ctx, "ws_1", fmt.Sprintf("proj_%d", i))
		if err != nil || !p.CreatedAt.Equal(want[i]) || !p.UpdatedAt.Equal(want[i]) {
			t.Errorf("proj_%d: created %s, updated %s, %v; want %s", i, p.CreatedAt, p.UpdatedAt, err, want[i])
		}
		task, err := s.GetTask(ctx, "ws_1", fmt.Sprintf("task_%d", i))
		if err != nil || task.DueAt != nil || task.CompletedAt == nil || !task.CompletedAt.Equal(want[i]) ||
			!task.CreatedAt.Equal(want[i]) || !task.UpdatedAt.Equal(want[i]) {
			t.Errorf("task_%d: %+v, %v; want due nil and every other time %s", i, task, err, want[i])
		}
		k, err := s.GetAPIKey(ctx, fmt.Sprintf("key_%d", i))
		if err != nil || k.LastUsedAt != nil || k.ExpiresAt == nil || !k.ExpiresAt.Equal(want[i]) ||
			k.RevokedAt == nil || !k.RevokedAt.Equal(want[i]) || !k.CreatedAt.Equal(want[i]) {
			t.Errorf("key_%d: %+v, %v; want last used nil and every other time %s", i, k, err, want[i])
		}
		idem, reserved, err := s.ReserveIdempotencyKey(ctx, store.IdempotencyKey{WorkspaceID: "ws_1", Key: fmt.Sprintf("idem_%d", i), CreatedAt: times[0]}, times[0], times[0])
		if err != nil || reserved || !idem.CreatedAt.Equal(want[i]) {
			t.Errorf("idem_%d: %+v, reserved %v, %v; want the record created %s", i, idem, reserved, err, want[i])
		}
	}
}

// Reads after Close are refused rather than left waiting for a connection
// (the engine's TestReadsAroundClose covers a read in flight during Close).
func TestReadsAfterClose(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "workspace.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.GetWorkspace(ctx, "ws_1"); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("GetWorkspace after Close: %v, want ErrClosed", err)
	}
	if _, _, err := s.ListProjects(ctx, "ws_1", store.ProjectFilter{}, store.Page{Limit: 10}); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("ListProjects after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A read transaction that ends in an error gives its connection back outside
// the transaction: every connection serves the next reads.
func TestFailedReadLeavesConnectionsUsable(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, filepath.Join(t.TempDir(), "workspace.db"))
	if err := s.CreateWorkspace(ctx, store.Workspace{ID: "ws_1", Name: "w", Plan: "free", CreatedAt: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3*engine.DefaultReaders; i++ {
		_, _, err := s.ListTasks(ctx, "ws_1", store.TaskFilter{ProjectID: "proj_missing"}, store.Page{Limit: 10})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("list of a missing project's tasks: %v, want NotFound", err)
		}
		if _, total, err := s.ListTasks(ctx, "ws_1", store.TaskFilter{}, store.Page{Limit: 10}); err != nil || total != 0 {
			t.Fatalf("read %d after a failed read: total %d, %v", i, total, err)
		}
	}
}

// shortBusy is the busy timeout of the outage tests, so that waiting out a
// lock takes a fraction of a second rather than the default's ten.
const shortBusy = 200 * time.Millisecond

// writeLock holds the database's write lock from a connection of its own, as
// another process (a second server, the CLI) would.
type writeLock struct {
	t  *testing.T
	db *sql.DB
	tx *sql.Tx
}

func newWriteLock(t *testing.T, path string) *writeLock {
	db, err := engine.OpenWriter(path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := &writeLock{t: t, db: db}
	t.Cleanup(func() {
		l.release()
		_ = db.Close()
	})
	return l
}

// take begins an IMMEDIATE transaction, which holds the write lock until
// release.
func (l *writeLock) take() {
	tx, err := l.db.BeginTx(context.Background(), nil)
	if err != nil {
		l.t.Fatalf("taking the write lock: %v", err)
	}
	l.tx = tx
}

func (l *writeLock) release() {
	if l.tx != nil {
		_ = l.tx.Rollback()
		l.tx = nil
	}
}

func TestUnavailable(t *testing.T) {
	storetest.RunUnavailable(t, func(t *testing.T) (store.Store, storetest.Outage) {
		path := filepath.Join(t.TempDir(), "workspace.db")
		s, err := open(t.Context(), path, engine.Options{BusyTimeout: shortBusy})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		l := newWriteLock(t, path)
		return s, storetest.Outage{Cut: l.take, Restore: l.release}
	})
}

// TestBusyIsUnavailable holds the write lock from another connection past the
// busy timeout: the write answers ErrUnavailable with SQLITE_BUSY kept as its
// cause, after waiting the timeout out; reads go on (WAL); once the lock is
// released, the same write succeeds.
func TestBusyIsUnavailable(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "workspace.db")
	s, err := open(ctx, path, engine.Options{BusyTimeout: shortBusy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ws := store.Workspace{ID: "ws_1", Name: "w", Plan: "free", CreatedAt: time.Unix(1, 0).UTC()}
	if err := s.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	l := newWriteLock(t, path)
	l.take()
	p := store.Project{ID: "proj_1", WorkspaceID: "ws_1", Name: "p", CreatedAt: time.Unix(2, 0).UTC(), UpdatedAt: time.Unix(2, 0).UTC()}
	start := time.Now()
	err = s.CreateProject(ctx, p)
	waited := time.Since(start)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("CreateProject while another connection holds the write lock: %v, want ErrUnavailable", err)
	}
	var e *msqlite.Error
	if !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Errorf("CreateProject while locked: %v, want SQLITE_BUSY kept as the cause", err)
	}
	if waited < shortBusy {
		t.Errorf("CreateProject gave up after %v, before the busy timeout of %v", waited, shortBusy)
	}
	if got, err := s.GetWorkspace(ctx, "ws_1"); err != nil || got != ws {
		t.Errorf("GetWorkspace while the write lock is held: %+v, %v; want %+v", got, err, ws)
	}
	l.release()
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatalf("CreateProject once the lock is released: %v", err)
	}
	if _, err := s.GetProject(ctx, "ws_1", p.ID); err != nil {
		t.Errorf("GetProject after the write: %v", err)
	}
}

// TestMigrateCountersBackfill fills a database migrated up to 0004 (not included) with rows
// the way an older release stored them, then opens it: migration 0004 must
// count them, and the counters go on from there.
func TestMigrateCountersBackfill(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "workspace.db")
	w, exec := migratedBefore(t, path, 4)
	statuses := []string{"todo", "in_progress", "completed"}
	want := map[string][]store.Task{}
	projects := map[string][]string{"ws_1": {"proj_a", "proj_B"}, "ws_2": {"proj_c"}, "ws_3": nil}
	keys := map[string]int{"ws_1": 3, "ws_2": 1, "ws_3": 0}
	for _, ws := range []string{"ws_1", "ws_2", "ws_3"} {
		exec(`INSERT INTO workspaces VALUES (?, 'W', 'free', 0)`, ws)
		for _, p := range projects[ws] {
			exec(`INSERT INTO projects VALUES (?, ?, 'P', '', 0, 0)`, p, ws)
		}
		for i := range keys[ws] {
			id := fmt.Sprintf("key_%s_%d", ws, i)
			exec(`INSERT INTO api_keys VALUES (?, ?, 'K', '["read"]', 'wsk_x', ?, 0, NULL, NULL, NULL)`, id, ws, []byte(id))
		}
	}
	for i := range 11 {
		ws, p := "ws_1", []string{"proj_a", "proj_B"}[i%2]
		if i == 10 {
			ws, p = "ws_2", "proj_c"
		}
		task := store.Task{ID: fmt.Sprintf("task_%d", i), ProjectID: p, Status: statuses[i%3]}
		exec(`INSERT INTO tasks VALUES (?, ?, ?, 'T', '', ?, NULL, NULL, ?, ?)`, task.ID, ws, p, task.Status, i, i)
		want[ws] = append(want[ws], task)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	s := openStore(t, path) // applies 0004 and what follows
	for _, ws := range []string{"ws_1", "ws_2", "ws_3"} {
		storetest.CheckTotals(t, s, "after the backfill", ws, projects[ws], want[ws], keys[ws])
	}
	task := store.Task{ID: "task_new", WorkspaceID: "ws_1", ProjectID: "proj_B", Title: "T", Status: "todo", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	storetest.CheckTotals(t, s, "after a create", "ws_1", projects["ws_1"], append(want["ws_1"], task), keys["ws_1"])
}

// migratedBefore creates a database file at path with the migrations
// numbered below version applied, as an older release left it, on a bare
// writer: the caller writes rows the old way with exec, closes w, then opens
// the store, which applies the rest.
func migratedBefore(t *testing.T, path string, version int64) (w *sql.DB, exec func(q string, args ...any)) {
	t.Helper()
	w, err := engine.OpenWriter(path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := migrate.Load(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	exec = func(q string, args ...any) {
		t.Helper()
		if _, err := w.ExecContext(t.Context(), q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version TEXT NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`)
	for _, m := range all {
		if m.Version < version {
			exec(m.SQL)
			exec(`INSERT INTO schema_migrations VALUES (?, 0)`, m.Name)
		}
	}
	return w, exec
}
