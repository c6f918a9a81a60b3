// Package engine is the SQLite machinery under store/sqlite: one writer with group commit, a FIFO pool of driver-level readers, and per-connection prepared statements; it knows no table.
package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReaders bounds the reader pool. WAL lets readers run beside the
// writer, so a few connections are enough to keep reads from queueing behind
// each other.
const DefaultReaders = 4

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another process (another server or the CLI) before failing with
// SQLITE_BUSY. Writers of this process never wait on each other in SQLite:
// they queue for the single writer connection in Go.
const DefaultBusyTimeout = 10 * time.Second

// Options tune Open; the zero value is the defaults.
type Options struct {
	Readers     int           // reader connections; DefaultReaders if 0
	BusyTimeout time.Duration // DefaultBusyTimeout if 0; rounded to milliseconds
}

func (o Options) withDefaults() Options {
	if o.Readers <= 0 {
		o.Readers = DefaultReaders
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	return o
}

// DB is one SQLite file. Every write goes through w, a pool of exactly one
// connection that begins its transactions IMMEDIATE, so writes are
// serialised before they reach SQLite and a transaction that reads before it
// writes cannot lose its lock upgrade to another writer. Writes reach it
// through the group committer (Write); reads go through r, the readers
// (read.go).
type DB struct {
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

// Open opens or creates the database file at path, runs setup on the writer
// (the schema's migrations) before any reader connects, and starts the group
// committer. path must name a file: an in-memory database would be a
// different one on each connection.
func Open(ctx context.Context, path string, opts Options, setup func(context.Context, *sql.DB) error) (*DB, error) {
	opts = opts.withDefaults()
	w, err := OpenWriter(path, opts)
	if err != nil {
		return nil, err
	}
	// Readers never see a half-built schema, and the switch to WAL happens on
	// one connection alone.
	if setup != nil {
		if err := setup(ctx, w); err != nil {
			w.Close()
			return nil, err
		}
	}
	// The readers connect now, applying their pragmas, so that a reader that
	// cannot be set up fails Open rather than the first request.
	readerDSN, err := dsn(path, false, opts)
	if err != nil {
		w.Close()
		return nil, err
	}
	r, err := openReaders(readerDSN, opts.Readers)
	if err != nil {
		w.Close()
		return nil, err
	}
	db := &DB{w: &pool{DB: w}, r: r, writes: make(chan *writeReq), committed: make(chan struct{})}
	go db.commitLoop()
	return db, nil
}

// OpenWriter returns a writer pool on the file at path alone: one
// connection, IMMEDIATE transactions, no group committer and no readers. It
// serves the migrate command, which needs nothing more.
func OpenWriter(path string, opts Options) (*sql.DB, error) {
	dsn, err := dsn(path, true, opts.withDefaults())
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
func dsn(path string, writer bool, opts Options) (string, error) {
	if path == "" || path == ":memory:" {
		return "", fmt.Errorf("sqlite: %q is not a database file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if writer {
		q.Set("_txlock", "immediate")
		// Each write of a group commit runs in a savepoint, and SQLite
		// copies every page a savepoint first touches to a sub-journal, a
		// temporary file: a pwrite per page per write (a third of the
		// writer's CPU once the event log added its pages to every write).
		// In memory, that copy is a memcpy; it holds at most one group's
		// pages.
		q.Add("_pragma", "temp_store(MEMORY)")
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

// CommitStats returns how many transactions the group committer has committed
// and how many writes they held; see metrics.GroupCommitStats.
func (db *DB) CommitStats() (commits, writes uint64) {
	return db.commits.Load(), db.commitWrites.Load()
}

// Close waits for the writes already handed to the committer, then closes
// both pools; closing twice is harmless. No write may start after Close.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.writes) })
	<-db.committed
	return errors.Join(db.r.Close(), db.w.Close())
}

// Scanner reads the current row into dest, as *sql.Row and *sql.Rows do.
type Scanner interface{ Scan(dest ...any) error }

// Querier reads one row: the reader pool (DB), a read transaction (ReadTx)
// or a write transaction (Tx).
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) Scanner
}

// Rows iterates a result as *sql.Rows does.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}
