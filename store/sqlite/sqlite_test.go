package sqlite

import (
	"context"
	"database/sql"
	"errors"
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
	p := store.Project{ID: "proj_1", WorkspaceID: ws.ID, Name: "P", CreatedAt: created, UpdatedAt: created}

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

// TestTimeRange checks that a time that int64 nanoseconds cannot hold is
// refused, not stored as a different time.
func TestTimeRange(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, filepath.Join(t.TempDir(), "workspace.db"))
	for _, at := range []time.Time{{}, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)} {
		err := s.CreateWorkspace(ctx, store.Workspace{ID: "ws_1", CreatedAt: at})
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("CreateWorkspace(created %s) = %v, want a plain error", at, err)
		}
		if _, err := s.GetWorkspace(ctx, "ws_1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetWorkspace after the refused create: %v, want NotFound", err)
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
	if _, _, err := s.ListProjects(ctx, "ws_1", store.Page{Limit: 10}); !errors.Is(err, engine.ErrClosed) {
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
