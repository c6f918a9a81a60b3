package servertest

import (
	"testing"

	"github.com/example/workspace/server"
	"github.com/example/workspace/store/postgres/pgtest"
)

// OnEachBackend runs fn once on a server over SQLite (Start's temporary
// file) and once on a server over PostgreSQL in a database of its own, as
// subtests "sqlite" and "postgres". Without $WORKSPACE_TEST_POSTGRES_URL the
// postgres subtest is skipped with pgtest's message, never passed. For the
// defects where two backends answered the same request differently, the
// same assertions must hold on both.
func OnEachBackend(t *testing.T, fn func(t *testing.T, env *Env), configs ...Config) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, Start(t, configs...)) })
	t.Run("postgres", func(t *testing.T) {
		db := pgtest.NewDatabase(t)
		fn(t, Start(t, append([]Config{func(c *server.Config) { c.Database = db }}, configs...)...))
	})
}
