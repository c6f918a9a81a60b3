package sqlite

import (
	"context"
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/example/workspace/store"
)

func sqliteCode(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func conflict(what string) error {
	return fmt.Errorf("%w: %s", store.ErrConflict, what)
}

// wrap adds the operation to an unexpected error. Domain errors pass as they
// are: a NotFound must read the same whichever call and id produced it. It
// is the one place the backend classifies its errors: every error a Store
// method returns passes here, except an update callback's (returned as is)
// and the arguments refused before any SQL runs (a page, a time out of range).
func wrap(ctx context.Context, op string, err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return err
	}
	if unavailable(ctx, err) {
		// Both stay matchable: ErrUnavailable for the 503, the cause for the
		// log line of whoever reports it.
		return fmt.Errorf("sqlite: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// unavailable reports whether err means the file cannot serve us now: a lock
// another process held past the busy timeout (SQLITE_BUSY, SQLITE_LOCKED) or
// the disk failing (SQLITE_IOERR, with any extended code). A caller whose own
// context ended gave up itself: that is not the store's unavailability.
func unavailable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	// The primary result code is the low byte of an extended one.
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR:
		return true
	}
	return false
}
