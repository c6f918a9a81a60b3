// Package sqlite is the embedded default store.Store: one SQLite file, through the pure-Go modernc.org/sqlite driver, on the machinery of store/sqlite/engine.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/sqlite/engine"
)

// Store is a store.Store on one SQLite file. Its methods hold the SQL; db
// runs it: writes through the group committer (db.Write), lists in read
// transactions (db.Read) and point reads on the reader pool
// (db.QueryRowContext).
type Store struct {
	db   *engine.DB
	feed *feed
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the database file at path, applies the migrations it
// lacks and returns the store. path must name a file: an in-memory database
// would be a different one on each connection.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, engine.Options{})
}

// indexQueued gives the search index the tasks created since the last
// commit (migration 0008's queue), with their text as it is now: one FTS5
// segment per group commit instead of one per task. It runs before every
// COMMIT of the group committer.
func indexQueued(ctx context.Context, tx *engine.Tx) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO tasks_fts (rowid, title, description)
		SELECT t.rowid, t.title, t.description FROM tasks_fts_queue q JOIN tasks t ON t.rowid = q.task_rowid ORDER BY q.task_rowid`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM tasks_fts_queue`)
	return err
}

// open is Open with the engine's options, which the tests shorten.
func open(ctx context.Context, path string, opts engine.Options) (*Store, error) {
	opts.BeforeCommit = indexQueued
	db, err := engine.Open(ctx, path, opts, func(ctx context.Context, w *sql.DB) error {
		_, err := applyMigrations(ctx, w)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Store{db: db, feed: newFeed()}, nil
}

// CommitStats returns how many transactions the group committer has committed
// and how many writes they held; see metrics.GroupCommitStats.
func (s *Store) CommitStats() (commits, writes uint64) { return s.db.CommitStats() }

// Ping reads from the file, which a mere connection check would not.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n)
	return wrap(ctx, "ping", err)
}

// Close waits for the writes already handed to the committer, then closes
// the file, ending the FollowEvents calls; closing twice is harmless. No write may start after Close.
func (s *Store) Close() error {
	s.feed.close()
	return s.db.Close()
}

// affected turns an UPDATE or DELETE that matched no row into
// NotFound(resource).
func affected(res sql.Result, err error, resource string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.NotFound(resource)
	}
	return nil
}

// count runs a count(*) query: the fallback of a total that no counter
// covers (counts.go).
func count(ctx context.Context, tx engine.Querier, query string, args ...any) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

func list[T any](ctx context.Context, tx engine.ReadTx, scan func(engine.Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// encoder turns times into the stored unix microseconds and remembers the
// first time that cannot be stored, so that a row's arguments can be built in
// one expression and checked once. Microseconds are PostgreSQL's precision
// and, in an int64, cover ±292,000 years: every time RFC 3339 can write
// (years 0001 to 9999), where nanoseconds ended in 1677 and 2262 (migration
// 0003 converted the rows of those days).
type encoder struct{ err error }

// micros truncates t to the microsecond, as the PostgreSQL store does, and
// rejects a time so far out that int64 microseconds cannot hold it: storing
// it would silently change it.
func (e *encoder) micros(t time.Time) int64 {
	n := t.UnixMicro()
	// UnixMicro rounds down, so a time it holds is at most 999 ns past its
	// value; one it overflows is far from it.
	if d := t.Sub(time.UnixMicro(n)); e.err == nil && (d < 0 || d >= time.Microsecond) {
		e.err = fmt.Errorf("sqlite: time %s is outside the storable range", t.Format(time.RFC3339Nano))
	}
	return n
}

func (e *encoder) optMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return e.micros(*t)
}

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

func fromOptMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}
