// Package postgres implements store.Store on PostgreSQL with pgx, for deployments that run several replicas.
package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
)

// defaultConnectTimeout bounds a connection attempt unless the URL's
// connect_timeout says otherwise.
const defaultConnectTimeout = 5 * time.Second

// Store is a store.Store backed by a PostgreSQL connection pool.
type Store struct {
	pool *pgxpool.Pool
	// connConfig is what FollowEvents connects with, outside the pool.
	connConfig *pgx.ConnConfig
	// closed ends the FollowEvents calls, which followers counts.
	mu        sync.Mutex // orders followers.Add before Close's Wait
	closed    chan struct{}
	isClosed  bool
	followers sync.WaitGroup
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
	return &Store{pool: pool, connConfig: cfg.ConnConfig, closed: make(chan struct{})}, applied, nil
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
	s.mu.Lock()
	if !s.isClosed {
		s.isClosed = true
		close(s.closed)
	}
	s.mu.Unlock()
	s.followers.Wait()
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

// sqlDialect is PostgreSQL's for package keyset: $n placeholders, timestamptz.
var sqlDialect = keyset.Dialect{
	Param: func(n int) string { return "$" + strconv.Itoa(n) },
	Time:  func(t time.Time) any { return ts(t) },
}

// likeSearch answers a search with ILIKE '%text%' on each column, which the
// pg_trgm GIN indexes of migration 0006 serve: a substring, case-insensitive,
// as the SQLite store's trigram FTS5 phrase.
func likeSearch(cols ...string) keyset.Search {
	return func(q *keyset.Query, text string) string {
		p := q.Arg("%" + likeEscaper.Replace(text) + "%")
		conds := make([]string, len(cols))
		for i, c := range cols {
			conds[i] = c + " ILIKE " + p
		}
		return "(" + strings.Join(conds, " OR ") + ")"
	}
}

// likeEscaper quotes LIKE's wildcards and its escape character (backslash).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// listPage reads one page of the rows of table that base selects, and their
// total: from total(), unless the page itself tells it.
func listPage[T any](ctx context.Context, tx pgx.Tx, cols, table string, base *keyset.Query, sort keyset.Sort, page store.Page,
	scan func(pgx.CollectableRow) (T, error), total func() (int, error)) ([]T, int, error) {
	parts, err := keyset.Parts(base, sort, page)
	if err != nil {
		return nil, 0, err
	}
	items, err := keyset.Fetch(parts, page.Limit, page.Offset,
		func(p keyset.Part, limit, offset int) ([]T, error) {
			rows, err := tx.Query(ctx, "SELECT "+cols+" FROM "+table+" WHERE "+p.Where()+
				" ORDER BY "+p.OrderBy+" LIMIT "+p.Next(1)+" OFFSET "+p.Next(2), append(p.Args(), limit, offset)...)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, scan)
		},
		func(p keyset.Part) (int, error) {
			var n int
			err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE "+p.Where(), p.Args()...).Scan(&n)
			return n, err
		})
	if err != nil {
		return nil, 0, err
	}
	// A short page that is not empty, or the first page, already tells the
	// total, unless it starts after a position; only otherwise does counting
	// cost a second query.
	if page.After == nil && len(items) < page.Limit && (len(items) > 0 || page.Offset == 0) {
		return items, page.Offset + len(items), nil
	}
	n, err := total()
	if err != nil {
		return nil, 0, err
	}
	return items, n, nil
}

// count counts the rows of table that q selects.
func count(ctx context.Context, tx pgx.Tx, table string, q *keyset.Query) (int, error) {
	var n int
	err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE "+q.Where(), q.Args()...).Scan(&n)
	return n, err
}
