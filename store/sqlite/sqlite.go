// Package sqlite is the embedded default store.Store: one SQLite file, through the pure-Go modernc.org/sqlite driver.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/example/workspace/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// readConns bounds the reader pool. WAL lets readers run beside the writer, so
// a few connections are enough to keep reads from queueing behind each other.
const readConns = 4

// busyTimeoutMillis is how long a connection waits for a lock held by another
// process (another server or the CLI) before failing with SQLITE_BUSY. Writers
// of this process never wait on each other in SQLite: they queue for the
// single writer connection in Go.
const busyTimeoutMillis = 10000

// Store is a store.Store on one SQLite file. Every write goes through w, a pool
// of exactly one connection that begins its transactions IMMEDIATE, so writes
// are serialised before they reach SQLite and a transaction that reads before
// it writes cannot lose its lock upgrade to another writer. Reads go through r,
// the readers (readers.go).
type Store struct {
	w *pool
	r *readers

	// writes feeds the group committer (see commitLoop); closing it stops the
	// loop, which then closes committed.
	writes    chan *writeReq
	committed chan struct{}
	closeOnce sync.Once
	// commits counts transactions committed by the group committer, and
	// commitWrites the writes they held.
	commits, commitWrites atomic.Uint64
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the database file at path, applies the migrations it
// lacks and returns the store. path must name a file: an in-memory database
// would be a different one on each connection.
func Open(ctx context.Context, path string) (*Store, error) {
	w, err := openWriter(path)
	if err != nil {
		return nil, err
	}
	// The writer migrates before any reader connects, so readers never see a
	// half-built schema and the switch to WAL happens on one connection alone.
	if _, err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	// The readers connect now, applying their pragmas, so that a reader that
	// cannot be set up fails Open rather than the first request.
	readerDSN, err := dsn(path, false)
	if err != nil {
		w.Close()
		return nil, err
	}
	r, err := openReaders(readerDSN, readConns)
	if err != nil {
		w.Close()
		return nil, err
	}
	st := &Store{w: &pool{DB: w}, r: r, writes: make(chan *writeReq), committed: make(chan struct{})}
	go st.commitLoop()
	return st, nil
}

// Migrate applies the migrations that the database file at path lacks,
// creating the file if need be, and returns the names of those it applied in
// order, none if the schema was up to date.
func Migrate(ctx context.Context, path string) (applied []string, err error) {
	w, err := openWriter(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("sqlite: %w", cerr)
		}
	}()
	return migrate(ctx, w)
}

// openWriter returns the writer pool: one connection, IMMEDIATE transactions.
func openWriter(path string) (*sql.DB, error) {
	dsn, err := dsn(path, true)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return db, nil
}

// dsn is the driver's data source name for the file at path, with the
// writer's settings or the readers' (query_only, so that a write routed to a
// reader by mistake fails instead of slipping past the writer's
// serialisation).
func dsn(path string, writer bool) (string, error) {
	if path == "" || path == ":memory:" {
		return "", fmt.Errorf("sqlite: %q is not a database file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(busyTimeoutMillis)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	// A file: URI with an escaped path, so that a '?' or '#' in the path cannot
	// be taken for the start of the DSN's parameters. A Windows path needs the
	// leading slash of file:///C:/...
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return (&url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}).String(), nil
}

// migration is one embedded script; its name, the file name without ".sql",
// is what schema_migrations records.
type migration struct {
	num  int
	name string
	sql  string
}

func migrations() ([]migration, error) {
	entries, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := strings.TrimSuffix(filepath.Base(e), ".sql")
		digits, _, _ := strings.Cut(name, "_")
		num, err := strconv.Atoi(digits)
		if err != nil || num <= 0 {
			return nil, fmt.Errorf("sqlite: migration %q does not start with a positive number", name)
		}
		if other, ok := seen[num]; ok {
			return nil, fmt.Errorf("sqlite: migrations %q and %q share number %d", other, name, num)
		}
		seen[num] = name
		b, err := migrationFiles.ReadFile(e)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{num: num, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].num < ms[j].num })
	return ms, nil
}

// migrate applies each missing migration in its own IMMEDIATE transaction and
// checks for it inside that transaction, so two processes migrating the same
// file at once apply every migration exactly once.
func migrate(ctx context.Context, w *sql.DB) ([]string, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT    NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return nil, fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	applied := []string{}
	for _, m := range ms {
		done := false
		err := inTx(ctx, w, nil, func(tx *sql.Tx) error {
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = ?`, m.name).Scan(new(int))
			if err == nil {
				done = true
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.name, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("sqlite: migration %s: %w", m.name, err)
		}
		if !done {
			applied = append(applied, m.name)
		}
	}
	return applied, nil
}

// inTx runs fn in a transaction of db and commits it unless fn fails; fn's
// error is returned unchanged, since callers rely on errors.Is and on getting
// back the very error their update callback returned.
func inTx(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	// Deferred, so that a panicking update callback cannot leave the writer's
	// only connection inside a transaction; after Commit it is a no-op.
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// writeReq is one write waiting for the group committer.
type writeReq struct {
	ctx  context.Context
	fn   func(context.Context, *txn) error
	done chan error
}

// maxBatch bounds how many writes share one transaction, so that one commit
// never waits on an unbounded amount of work.
const maxBatch = 128

// write runs fn inside an IMMEDIATE transaction on the writer and returns once
// that transaction is durably committed (synchronous=FULL), or with fn's error,
// in which case nothing fn did is kept. fn must not call the Store: the
// writer's only connection is fn's. fn gets ctx without its cancellation:
// SQLite answers an interrupted statement by rolling back the whole
// transaction, which holds other callers' writes too.
//
// Writes that arrive while another commit is under way are grouped: they share
// one transaction and one fsync, each inside its own savepoint, so one write's
// failure undoes only its own changes. No caller is answered before the commit
// that holds its write has returned.
func (s *Store) write(ctx context.Context, fn func(context.Context, *txn) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, the write's fate is the batch's: waiting for it even if
	// ctx ends means a caller never reports failure for a write that commits.
	return <-req.done
}

// commitLoop is the single writer: it takes the writes that are waiting, runs
// them in one transaction and commits once.
func (s *Store) commitLoop() {
	defer close(s.committed)
	for first := range s.writes {
		batch := []*writeReq{first}
		// Let the goroutines that are ready run first, so that the writes
		// they are about to hand over join this commit. Without it, a
		// server on one core commits HTTP/1.1 requests one at a time: each
		// commit wakes a single waiting handler, the committer runs again
		// before the network poller has delivered the other connections'
		// requests, and every write pays a whole fsync (1.0 write a commit
		// under the load tool's REST create-task, 24 with this yield).
		runtime.Gosched()
	gather:
		for len(batch) < maxBatch {
			select {
			case req, ok := <-s.writes:
				if !ok {
					break gather
				}
				batch = append(batch, req)
			default:
				break gather
			}
		}
		s.commitBatch(batch)
	}
}

func (s *Store) commitBatch(batch []*writeReq) {
	// The transaction outlives any one request's context: a request that is
	// cancelled must not roll back the others' writes.
	sqlTx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		for _, req := range batch {
			req.done <- err
		}
		return
	}
	tx := &txn{tx: sqlTx, p: s.w}
	var pending []*writeReq
	for _, req := range batch {
		if err := runInSavepoint(tx, req); err != nil {
			req.done <- err
			continue
		}
		pending = append(pending, req)
	}
	if len(pending) == 0 {
		err = sqlTx.Rollback()
	} else {
		err = sqlTx.Commit()
		if err == nil {
			s.commits.Add(1)
			s.commitWrites.Add(uint64(len(pending)))
		}
	}
	for _, req := range pending {
		req.done <- err
	}
	tx.prepareMissed()
}

// runInSavepoint runs one write so that its failure, or its panic, undoes its
// own changes and nothing else.
func runInSavepoint(tx *txn, req *writeReq) (err error) {
	if err := req.ctx.Err(); err != nil {
		return err
	}
	if _, err := tx.tx.Exec(`SAVEPOINT write`); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", p)
		}
		if err != nil {
			// ROLLBACK TO keeps the savepoint open; RELEASE closes it.
			_, _ = tx.tx.Exec(`ROLLBACK TO write`)
		}
		if _, rerr := tx.tx.Exec(`RELEASE write`); rerr != nil && err == nil {
			err = rerr
		}
	}()
	return req.fn(context.WithoutCancel(req.ctx), tx)
}

// CommitStats returns how many transactions the group committer has committed
// and how many writes they held; see metrics.GroupCommitStats.
func (s *Store) CommitStats() (commits, writes uint64) {
	return s.commits.Load(), s.commitWrites.Load()
}

// read runs fn in one read transaction, so that everything fn reads comes from
// a single snapshot: a page and its total always agree.
func (s *Store) read(ctx context.Context, fn func(context.Context, readTx) error) error {
	c, err := s.r.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.r.release(c)
	ctx = uninterrupted(ctx)
	if err := c.exec(ctx, "BEGIN"); err != nil {
		return err
	}
	// Whatever ends the transaction early (fn's error or panic, a failed
	// COMMIT), the connection goes back to the pool outside a transaction.
	committed := false
	defer func() {
		if !committed {
			_ = c.exec(ctx, "ROLLBACK")
		}
	}()
	if err := fn(ctx, rawTx{c}); err != nil {
		return err
	}
	if err := c.exec(ctx, "COMMIT"); err != nil {
		return err
	}
	committed = true
	return nil
}

// readTx is what a read transaction offers its callback.
type readTx interface {
	rowQuerier
	QueryContext(ctx context.Context, query string, args ...any) (rowsScanner, error)
}

// rowsScanner iterates rows as *sql.Rows does.
type rowsScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Ping reads from the file, which a mere connection check would not.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close waits for the writes already handed to the committer, then closes
// both pools; closing twice is harmless. No write may start after Close.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.writes) })
	<-s.committed
	return errors.Join(s.r.Close(), s.w.Close())
}

func sqliteCode(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func conflict(what string) error {
	return fmt.Errorf("%w: %s", store.ErrConflict, what)
}

// wrap adds the operation to an unexpected error. Domain errors pass as they
// are: a NotFound must read the same whichever call and id produced it.
func wrap(op string, err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func checkPage(p store.Page) error {
	if p.Limit < 1 || p.Offset < 0 {
		return fmt.Errorf("sqlite: invalid page: limit %d, offset %d", p.Limit, p.Offset)
	}
	return nil
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

type scanner interface{ Scan(dest ...any) error }

// rowQuerier reads one row, in a transaction (txn) or not (pool).
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) scanner
}
