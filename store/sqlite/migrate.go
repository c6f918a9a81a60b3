package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/example/workspace/store/migrate"
	"github.com/example/workspace/store/sqlite/engine"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrate applies the migrations that the database file at path lacks,
// creating the file if need be, and returns the names of those it applied in
// order, none if the schema was up to date.
func Migrate(ctx context.Context, path string) (applied []string, err error) {
	w, err := engine.OpenWriter(path, engine.Options{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("sqlite: %w", cerr)
		}
	}()
	return applyMigrations(ctx, w)
}

// applyMigrations runs the embedded migrations on the writer w.
func applyMigrations(ctx context.Context, w *sql.DB) ([]string, error) {
	applied, err := migrate.Run(ctx, migrationFS, "migrations", dialect{w})
	if err != nil {
		return applied, fmt.Errorf("sqlite: %w", err)
	}
	return applied, nil
}

// dialect records migrations by name in schema_migrations. Each is checked
// for and applied in one IMMEDIATE transaction (the writer's), so two
// processes migrating the same file at once apply every migration exactly
// once.
type dialect struct{ w *sql.DB }

func (d dialect) Init(ctx context.Context) error {
	_, err := d.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT    NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`)
	return err
}

func (d dialect) Apply(ctx context.Context, m migrate.Migration) (bool, error) {
	applied := false
	err := inTx(ctx, d.w, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = ?`, m.Name).Scan(new(int))
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			m.Name, time.Now().UnixNano()); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// inTx runs fn in a transaction of db and commits it unless fn fails.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// Deferred, so that a failing migration cannot leave the writer's only
	// connection inside a transaction; after Commit it is a no-op.
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
