package server

import (
	"context"
	"net/url"
	"strings"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/postgres"
	"github.com/example/workspace/store/sqlite"
)

func isPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// OpenStore opens the backend database names — a postgres:// URL or a SQLite
// file path — and applies its migrations.
func OpenStore(ctx context.Context, database string) (store.Store, error) {
	if isPostgres(database) {
		return postgres.Open(ctx, database)
	}
	return sqlite.Open(ctx, database)
}

// Migrate applies the backend's pending migrations and lists them.
func Migrate(ctx context.Context, database string) ([]string, error) {
	if isPostgres(database) {
		return postgres.Migrate(ctx, database)
	}
	return sqlite.Migrate(ctx, database)
}

// redact hides a password in a database URL for logs.
func redact(database string) string {
	u, err := url.Parse(database)
	if err != nil || u.User == nil {
		return database
	}
	return u.Redacted()
}
