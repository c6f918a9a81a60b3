// Package postgres implements store.Store on PostgreSQL with pgx, for deployments that run several replicas.
package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/workspace/store"
)

// defaultConnectTimeout bounds a connection attempt unless the URL's
// connect_timeout says otherwise.
const defaultConnectTimeout = 5 * time.Second

// Store is a store.Store backed by a PostgreSQL connection pool.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://user@host:port/db?...),
// applies the pending migrations (see Migrate) and returns a Store. The pool
// honours the pool_* URL parameters of pgxpool, such as pool_max_conns.
func Open(ctx context.Context, url string) (*Store, error) {
	s, _, err := open(ctx, url)
	return s, err
}

// open is Open that also reports which migrations it applied, for the tests.
func open(ctx context.Context, url string) (*Store, []string, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, nil, err
	}
	applied, err := applyMigrations(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, applied, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, applied, fmt.Errorf("postgres: open pool: %w", err)
	}
	return &Store{pool: pool}, applied, nil
}

// parseConfig reads the URL with pgxpool's parser, not pgx's: it accepts (and
// strips) the pool_* parameters that Open honours, which pgx would send to the
// server as unknown settings.
func parseConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without connect_timeout in the URL a connect to a host that drops
		// packets waits for the request's context, or forever for the pool's
		// background connects; bounded, the request answers 503 instead.
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	return cfg, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return dbError(ctx, "ping", s.pool.Ping(ctx))
}

// Close closes the pool, waiting for connections in use to be returned; a
// second Close is harmless (the suite and t.Cleanup may both call it).
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// querier is what both the pool and a transaction offer, so that the insert
// helpers serve Bootstrap's transaction and the plain Create methods.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// inTx runs fn in a transaction and commits if fn returns nil. An error from
// fn is returned as is, which UpdateProject and UpdateTask promise for the
// errors of their callbacks.
func (s *Store) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return dbError(ctx, "begin", err)
	}
	// After a successful Commit this is a no-op (pgx.ErrTxClosed).
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError(ctx, "commit", err)
	}
	return nil
}

// inSnapshot runs fn in a REPEATABLE READ transaction, so that all its
// queries read one snapshot: a list page and its total then always agree.
// Read-only because nothing there writes, which PostgreSQL then enforces.
func (s *Store) inSnapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// ts prepares a time for a timestamptz column. PostgreSQL keeps microseconds;
// truncating here, rather than leaving it to the wire format (pgx's binary
// encoding truncates, the text one makes the server round), makes what is
// stored independent of the query mode.
func ts(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// tsPtr is ts for a nullable column: nil is NULL.
func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// utcPtr returns t in UTC; pgx scans timestamptz in the local time zone.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// checkPage rejects what the contract rules out rather than letting
// PostgreSQL fail on a negative LIMIT or OFFSET with a less clear error.
func checkPage(page store.Page) error {
	if page.Limit < 1 || page.Offset < 0 {
		return fmt.Errorf("postgres: invalid page: limit %d, offset %d", page.Limit, page.Offset)
	}
	return nil
}

// listPage reads one page of a list in tx. whereSQL and args select the
// rows ($1… are args); the page is ordered newest first. Its total is the
// caller's, from the counters (counts.go).
func listPage[T any](ctx context.Context, tx pgx.Tx, cols, table, whereSQL string, args []any, page store.Page, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	n := len(args)
	pageArgs := append(append(make([]any, 0, n+2), args...), page.Limit, page.Offset)
	rows, err := tx.Query(ctx, "SELECT "+cols+" FROM "+table+" WHERE "+whereSQL+
		" ORDER BY created_at DESC, id DESC LIMIT $"+strconv.Itoa(n+1)+" OFFSET $"+strconv.Itoa(n+2), pageArgs...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}
