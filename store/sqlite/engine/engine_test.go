package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// schema is the one table the engine's tests write to; the engine itself
// knows no table.
func schema(ctx context.Context, w *sql.DB) error {
	_, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS items (id TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL) STRICT`)
	return err
}

func open(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path, Options{}, schema)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func insert(ctx context.Context, db *DB, id, name string) error {
	return db.Write(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO items (id, name) VALUES (?, ?)`, id, name)
		return err
	})
}

func getName(ctx context.Context, q Querier, id string) (string, error) {
	var name string
	err := q.QueryRowContext(ctx, `SELECT name FROM items WHERE id = ?`, id).Scan(&name)
	return name, err
}

func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/group.db"
	db, err := Open(ctx, path, Options{}, schema)
	if err != nil {
		t.Fatal(err)
	}
	const writers = 64
	refused := errors.New("refused by the callback")
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			id := fmt.Sprintf("item_%02d", i)
			if err := insert(ctx, db, id, "p"); err != nil {
				errs[i] = err
				return
			}
			// Every third write fails after changing the row, every fifth
			// panics: only that write may be undone.
			errs[i] = db.Write(ctx, func(ctx context.Context, tx *Tx) error {
				if _, err := tx.ExecContext(ctx, `UPDATE items SET name = 'renamed' WHERE id = ?`, id); err != nil {
					return err
				}
				switch {
				case i%5 == 0:
					panic("boom")
				case i%3 == 0:
					return refused
				}
				return nil
			})
		}(i)
	}
	commitsBefore, _ := db.CommitStats()
	close(start)
	wg.Wait()
	commitsAfter, _ := db.CommitStats()
	commits := commitsAfter - commitsBefore
	t.Logf("%d concurrent inserts and updates took %d commits", 2*writers, commits)
	if commits >= 2*writers {
		t.Errorf("%d writes took %d commits: concurrent writes were not grouped", 2*writers, commits)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened from the file: every acknowledged write is there, and only those.
	db, err = Open(ctx, path, Options{}, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < writers; i++ {
		name, err := getName(ctx, db, fmt.Sprintf("item_%02d", i))
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		want, wantErr := "renamed", error(nil)
		switch {
		case i%5 == 0:
			want, wantErr = "p", nil
			if errs[i] == nil {
				t.Errorf("write %d panicked but reported success", i)
			}
		case i%3 == 0:
			want, wantErr = "p", refused
		}
		if name != want || (wantErr != nil && !errors.Is(errs[i], wantErr)) || (i%5 != 0 && wantErr == nil && errs[i] != nil) {
			t.Errorf("item %d: name %q, error %v; want %q, %v", i, name, errs[i], want, wantErr)
		}
	}
}

// TestPragmas checks every connection of both pools: the pragmas are
// per connection, so one correct connection proves nothing about the others.
func TestPragmas(t *testing.T) {
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "workspace.db"))
	check := func(name string, i, queryOnly int, query func(string) Scanner) {
		var journal string
		var synchronous, foreignKeys, busy, readOnly int
		for pragma, dest := range map[string]any{
			"journal_mode": &journal, "synchronous": &synchronous,
			"foreign_keys": &foreignKeys, "busy_timeout": &busy, "query_only": &readOnly,
		} {
			if err := query("PRAGMA " + pragma).Scan(dest); err != nil {
				t.Fatalf("%s conn %d: PRAGMA %s: %v", name, i, pragma, err)
			}
		}
		wantBusy := int(DefaultBusyTimeout.Milliseconds())
		if journal != "wal" || synchronous != 2 || foreignKeys != 1 || busy != wantBusy {
			t.Errorf("%s conn %d: journal_mode %q, synchronous %d, foreign_keys %d, busy_timeout %d; want wal, 2, 1, %d",
				name, i, journal, synchronous, foreignKeys, busy, wantBusy)
		}
		if readOnly != queryOnly {
			t.Errorf("%s conn %d: query_only %d, want %d", name, i, readOnly, queryOnly)
		}
	}
	w, err := db.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	check("writer", 0, 0, func(q string) Scanner { return w.QueryRowContext(ctx, q) })
	// The writer keeps its savepoints' sub-journal in memory: spilled to a
	// temporary file past 64 KiB, it cost a group commit a pwrite per page.
	var tempStore int
	if err := w.QueryRowContext(ctx, "PRAGMA temp_store").Scan(&tempStore); err != nil || tempStore != 2 {
		t.Errorf("writer: temp_store %d (%v), want 2 (MEMORY)", tempStore, err)
	}
	if len(db.r.all) != DefaultReaders {
		t.Fatalf("%d reader connections, want %d", len(db.r.all), DefaultReaders)
	}
	for i, c := range db.r.all {
		check("reader", i, 1, func(q string) Scanner { return ReadTx{c}.QueryRowContext(ctx, q) })
	}
}

// Reads after Close are refused rather than left waiting for a connection,
// and a read in flight keeps its connection until it is done.
func TestReadsAroundClose(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "workspace.db"), Options{}, schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := insert(ctx, db, "item_1", "one"); err != nil {
		t.Fatal(err)
	}
	c, err := db.r.acquire(ctx) // a read in flight
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	// The read goes on with its connection while Close waits for it.
	var n int
	if err := (ReadTx{c}).QueryRowContext(ctx, `SELECT count(*) FROM items`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("read in flight during Close: %d, %v", n, err)
	}
	db.r.release(c)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := getName(ctx, db, "item_1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("point read after Close: %v, want ErrClosed", err)
	}
	err = db.Read(ctx, func(ctx context.Context, tx ReadTx) error {
		t.Error("read transaction ran after Close")
		return nil
	})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("read transaction after Close: %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A read transaction that ends in an error gives its connection back outside
// the transaction: every connection serves the next reads, and sees the
// writes committed since.
func TestFailedReadLeavesConnectionsUsable(t *testing.T) {
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "workspace.db"))
	failed := errors.New("the callback failed")
	for i := 0; i < 3*DefaultReaders; i++ {
		err := db.Read(ctx, func(ctx context.Context, tx ReadTx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM items`).Scan(&n); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("read %d: %v, want the callback's error", i, err)
		}
		id := fmt.Sprintf("item_%02d", i)
		if err := insert(ctx, db, id, "x"); err != nil {
			t.Fatal(err)
		}
		var n int
		err = db.Read(ctx, func(ctx context.Context, tx ReadTx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM items`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				n++
			}
			return rows.Err()
		})
		if err != nil || n != i+1 {
			t.Fatalf("read %d after a failed read: %d rows, %v; want %d", i, n, err, i+1)
		}
	}
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, path := range []string{"", ":memory:", filepath.Join(t.TempDir(), "missing", "x.db")} {
		if db, err := Open(t.Context(), path, Options{}, schema); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// Options.BusyTimeout reaches every connection of both pools.
func TestBusyTimeoutOption(t *testing.T) {
	ctx := t.Context()
	const want = 250 * time.Millisecond
	db, err := Open(ctx, filepath.Join(t.TempDir(), "workspace.db"), Options{BusyTimeout: want, Readers: 2}, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var busy int
	if err := db.w.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != int(want.Milliseconds()) {
		t.Errorf("writer busy_timeout %d, %v; want %d", busy, err, want.Milliseconds())
	}
	if len(db.r.all) != 2 {
		t.Fatalf("%d reader connections, want 2", len(db.r.all))
	}
	for i, c := range db.r.all {
		if err := (ReadTx{c}).QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != int(want.Milliseconds()) {
			t.Errorf("reader %d busy_timeout %d, %v; want %d", i, busy, err, want.Milliseconds())
		}
	}
}

// BeforeCommit runs once per group commit, after every write of it and in
// its transaction; when it fails, every write of that commit fails and none
// is kept.
func TestBeforeCommit(t *testing.T) {
	ctx := t.Context()
	var fail sync.Map // item id → fail the commit that holds it
	var calls, sawWrites int
	hook := func(ctx context.Context, tx *Tx) error {
		calls++
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM items WHERE name = 'new'`).Scan(&n); err != nil {
			return err
		}
		sawWrites += n
		if _, err := tx.ExecContext(ctx, `UPDATE items SET name = 'seen' WHERE name = 'new'`); err != nil {
			return err
		}
		var bad int
		fail.Range(func(k, _ any) bool {
			var one int
			if tx.QueryRowContext(ctx, `SELECT 1 FROM items WHERE id = ?`, k).Scan(&one) == nil {
				bad++
			}
			return true
		})
		if bad > 0 {
			return errors.New("refused by BeforeCommit")
		}
		return nil
	}
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hook.db"), Options{BeforeCommit: hook}, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const writers = 32
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = insert(ctx, db, fmt.Sprintf("item_%d", i), "new")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	commits, _ := db.CommitStats()
	if uint64(calls) != commits || sawWrites != writers {
		t.Errorf("BeforeCommit ran %d times for %d commits and saw %d writes, want once per commit and %d", calls, commits, sawWrites, writers)
	}
	for i := range writers {
		if name, err := getName(ctx, db, fmt.Sprintf("item_%d", i)); err != nil || name != "seen" {
			t.Errorf("item_%d: %q, %v; want the hook's change committed with it", i, name, err)
		}
	}

	fail.Store("item_bad", true)
	if err := insert(ctx, db, "item_bad", "new"); err == nil || err.Error() != "refused by BeforeCommit" {
		t.Fatalf("write in a refused commit: %v, want BeforeCommit's error", err)
	}
	if _, err := getName(ctx, db, "item_bad"); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("item_bad after a refused commit: %v, want no row", err)
	}
	fail.Delete("item_bad")
	if err := insert(ctx, db, "item_after", "new"); err != nil {
		t.Errorf("write after a refused commit: %v", err)
	}
}
