package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/example/workspace/store"
)

// SQLSTATE codes the store translates into domain errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// fkResource names the record a foreign key points at, so that a violation
// reports what is missing. The names are those of migrations/0001_init.sql.
func fkResource(constraint string) (string, bool) {
	switch constraint {
	case "projects_workspace_fkey", "api_keys_workspace_fkey", "idempotency_keys_workspace_fkey":
		return "workspace", true
	case "tasks_project_fkey":
		// The only foreign key of tasks is (workspace_id, project_id), so a
		// missing project and one of another workspace look the same.
		return "project", true
	}
	return "", false
}

// dbError translates err, returned by a statement of operation op, into the
// domain errors of package store, and wraps anything else with op.
func dbError(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case uniqueViolation:
			return fmt.Errorf("postgres: %s: %w on %s", op, store.ErrConflict, pgErr.ConstraintName)
		case foreignKeyViolation:
			if resource, ok := fkResource(pgErr.ConstraintName); ok {
				return store.NotFound(resource)
			}
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// rowError is dbError for statements that expect one row: no row means the
// resource is not in the workspace.
func rowError(op, resource string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.NotFound(resource)
	}
	return dbError(op, err)
}
