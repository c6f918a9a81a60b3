package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_lock key that serialises migrations.
// It is fixed so that every replica of every version agrees on it; the value
// is the ASCII of "wsapimig", unlikely to collide with other applications'
// keys in the same database.
const migrationLockKey int64 = 0x7773_6170_696d_6967

// Migrate connects to the database at url and applies the embedded migrations
// that it has not applied yet, returning their names (file names without
// ".sql") in the order they were applied. Concurrent callers, in this process
// or in others, are serialised by a session-level advisory lock, so each
// migration is applied exactly once.
func Migrate(ctx context.Context, url string) (applied []string, err error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	return applyMigrations(ctx, cfg.ConnConfig)
}

func applyMigrations(ctx context.Context, cfg *pgx.ConnConfig) (applied []string, err error) {
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

	// Created under the lock, so concurrent first starts cannot race on it,
	// and each migration is checked for under it too.
	applied, err = migrate.Run(ctx, migrationFS, "migrations", dialect{conn})
	if err != nil {
		return applied, fmt.Errorf("postgres: %w", err)
	}
	return applied, nil
}

// dialect records migrations by version in schema_migrations. Run calls it
// under the session's advisory lock, which serialises every replica's
// migrations.
type dialect struct{ conn *pgx.Conn }

func (d dialect) Init(ctx context.Context) error {
	_, err := d.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint      NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`)
	return err
}

func (d dialect) Apply(ctx context.Context, m migrate.Migration) (bool, error) {
	applied := false
	err := pgx.BeginFunc(ctx, d.conn, func(tx pgx.Tx) error {
		var done bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.Version).Scan(&done); err != nil || done {
			return err
		}
		// No arguments, so pgx sends it with the simple protocol, which
		// allows several statements in one file.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}
