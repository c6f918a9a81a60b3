package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_lock key that serialises migrations.
// It is fixed so that every replica of every version agrees on it; the value
// is the ASCII of "wsapimig", unlikely to collide with other applications'
// keys in the same database.
const migrationLockKey int64 = 0x7773_6170_696d_6967

// migration is one numbered SQL file of migrations/.
type migration struct {
	version int64
	name    string // file name without ".sql", e.g. "0001_init"
	sql     string
}

// loadMigrations reads the embedded migrations in version order. Every file
// must be named NNNN_description.sql with a unique number.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		// A build that lost the embedded files must not report success.
		return nil, fmt.Errorf("postgres: no embedded migrations")
	}
	ms := make([]migration, 0, len(names))
	seen := make(map[int64]string, len(names))
	for _, p := range names {
		name := strings.TrimSuffix(path.Base(p), ".sql")
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("postgres: migration %s: name must be NNNN_description", name)
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration %s: name must start with a positive number", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("postgres: migrations %s and %s share number %d", other, name, v)
		}
		seen[v] = name
		body, err := migrationFS.ReadFile(p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate connects to the database at url and applies the embedded migrations
// that it has not applied yet, returning their names (file names without
// ".sql") in the order they were applied. Concurrent callers, in this process
// or in others, are serialised by a session-level advisory lock, so each
// migration is applied exactly once.
func Migrate(ctx context.Context, url string) (applied []string, err error) {
	// pgxpool's parser, not pgx's: it accepts (and strips) the pool_* URL
	// parameters that Open honours, which pgx would send to the server as
	// unknown settings.
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	return migrate(ctx, cfg.ConnConfig)
}

func migrate(ctx context.Context, cfg *pgx.ConnConfig) (applied []string, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	// A dedicated connection rather than a pooled one: the advisory lock is
	// held by the session, and closing the connection releases it even when
	// the explicit unlock cannot be sent (cancelled ctx, broken network).
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	defer func() {
		if cerr := conn.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = fmt.Errorf("postgres: close migration connection: %w", cerr)
		}
	}()

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return nil, fmt.Errorf("postgres: take migration lock: %w", err)
	}
	defer func() {
		// Best effort: if this fails, closing the connection releases the lock.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey)
	}()

	// Created under the lock, so concurrent first starts cannot race on it.
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint      NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, fmt.Errorf("postgres: create schema_migrations: %w", err)
	}

	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: read schema_migrations: %w", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: read schema_migrations: %w", err)
	}
	isDone := make(map[int64]bool, len(done))
	for _, v := range done {
		isDone[v] = true
	}

	// Versions recorded in the database but unknown here are left alone: they
	// come from a newer release during a rolling deploy.
	for _, m := range ms {
		if isDone[m.version] {
			continue
		}
		// One transaction per migration: a failure leaves the earlier ones
		// applied and recorded, and this one neither applied nor recorded.
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments, so pgx sends it with the simple protocol, which
			// allows several statements in one file.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("postgres: apply migration %s: %w", m.name, err)
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}
