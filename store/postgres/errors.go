package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/example/workspace/store"
)

// SQLSTATE codes the store translates into domain errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"

	connectionExceptionClass = "08" // connection_exception and its subclasses
	adminShutdown            = "57P01"
	crashShutdown            = "57P02"
	cannotConnectNow         = "57P03" // starting up, shutting down, in recovery
	tooManyConnections       = "53300"
)

// fkResource names the record a foreign key points at, so that a violation
// reports what is missing. The names are those of migrations/0001_init.sql.
func fkResource(constraint string) (string, bool) {
	switch constraint {
	case "projects_workspace_fkey", "api_keys_workspace_fkey", "idempotency_keys_workspace_fkey",
		"webhook_endpoints_workspace_fkey":
		return "workspace", true
	case "tasks_project_fkey":
		// The only foreign key of tasks is (workspace_id, project_id), so a
		// missing project and one of another workspace look the same.
		return "project", true
	case "webhook_deliveries_endpoint_fkey":
		return "webhook_endpoint", true
	}
	return "", false
}

// dbError translates err, returned by a statement of operation op, into the
// domain errors of package store, and wraps anything else with op. It is the
// one place the backend classifies its errors: every error a Store method
// returns passes here (rowError included), except an update callback's
// (returned as is) and the arguments refused before any SQL runs (a page, a
// bootstrap key of another workspace).
func dbError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(ctx, err) {
		// Both stay matchable: ErrUnavailable for the 503, the cause for the
		// log line of whoever reports it.
		return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrUnavailable, err)
	}
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
func rowError(ctx context.Context, op, resource string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.NotFound(resource)
	}
	return dbError(ctx, op, err)
}

// unavailable reports whether err means the database cannot be reached or
// will not serve us now: a failed connect, a connection that broke or timed
// out, the server shutting down or refusing connections. A caller whose own
// context ended (cancelled, or past its deadline) gave up itself: that is not
// the database's unavailability, whatever error the driver made of it.
func unavailable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, connectionExceptionClass),
			pgErr.Code == adminShutdown, pgErr.Code == crashShutdown, pgErr.Code == cannotConnectNow,
			pgErr.Code == tooManyConnections:
			return true
		}
		// Any other answer of the server is about the statement (and a
		// ConnectError wrapping it, such as a refused password, is caught
		// below).
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		pgconn.Timeout(err) ||
		// Past a deadline that is not the caller's (ctx is alive): the
		// pool's or the connect timeout's.
		errors.Is(err, context.DeadlineExceeded)
}
