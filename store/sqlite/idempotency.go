package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/sqlite/engine"
)

const idempotencyCols = `workspace_id, key, fingerprint, created_at, response, completed_at`

func scanIdempotencyKey(sc engine.Scanner) (store.IdempotencyKey, error) {
	var k store.IdempotencyKey
	var created int64
	var completed sql.NullInt64
	if err := sc.Scan(&k.WorkspaceID, &k.Key, &k.Fingerprint, &created, &k.Response, &completed); err != nil {
		return store.IdempotencyKey{}, err
	}
	k.CreatedAt, k.CompletedAt = fromMicros(created), fromOptMicros(completed)
	if k.CompletedAt != nil && k.Response == nil {
		k.Response = []byte{} // an empty BLOB may scan as nil
	}
	return k, nil
}

// ReserveIdempotencyKey reads and writes in one IMMEDIATE transaction, which
// holds the database's write lock from its start: of concurrent reservations
// of one key, in this process or another, exactly one finds it free.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, k store.IdempotencyKey, expiredBefore, staleBefore time.Time) (store.IdempotencyKey, bool, error) {
	var e encoder
	created, expired, stale := e.micros(k.CreatedAt), e.micros(expiredBefore), e.micros(staleBefore)
	if e.err != nil {
		return store.IdempotencyKey{}, false, e.err
	}
	k.Response, k.CompletedAt = nil, nil
	var out store.IdempotencyKey
	reserved := false
	err := s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE workspace_id = ? AND created_at < ?`,
			k.WorkspaceID, expired); err != nil {
			return err
		}
		cur, err := scanIdempotencyKey(tx.QueryRowContext(ctx, `SELECT `+idempotencyCols+`
			FROM idempotency_keys WHERE workspace_id = ? AND key = ?`, k.WorkspaceID, k.Key))
		switch {
		case err == nil && (cur.CompletedAt != nil || cur.CreatedAt.UnixMicro() >= stale):
			out = cur
			return nil
		case err == nil:
			// A pending record whose request died: replace it.
			if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE workspace_id = ? AND key = ?`,
				k.WorkspaceID, k.Key); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (`+idempotencyCols+`) VALUES (?, ?, ?, ?, NULL, NULL)`,
			k.WorkspaceID, k.Key, k.Fingerprint, created)
		if isForeignKey(err) {
			return store.NotFound("workspace")
		}
		if err != nil {
			return err
		}
		k.CreatedAt = fromMicros(created)
		out, reserved = k, true
		return nil
	})
	if err != nil {
		return store.IdempotencyKey{}, false, wrap(ctx, "reserve idempotency key", err)
	}
	return out, reserved, nil
}

func (s *Store) CompleteIdempotencyKey(ctx context.Context, workspaceID, key string, response []byte, at time.Time) error {
	var e encoder
	n := e.micros(at)
	if e.err != nil {
		return e.err
	}
	if response == nil {
		response = []byte{}
	}
	return wrap(ctx, "complete idempotency key", s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET response = ?, completed_at = ?
			WHERE workspace_id = ? AND key = ? AND completed_at IS NULL`, response, n, workspaceID, key)
		return affected(res, err, "idempotency_key")
	}))
}

func (s *Store) ReleaseIdempotencyKey(ctx context.Context, workspaceID, key string) error {
	return wrap(ctx, "release idempotency key", s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys
			WHERE workspace_id = ? AND key = ? AND completed_at IS NULL`, workspaceID, key)
		return err
	}))
}
