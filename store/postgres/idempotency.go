package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store"
)

const idempotencyCols = "workspace_id, key, fingerprint, created_at, response, completed_at"

func scanIdempotencyKey(row pgx.Row) (store.IdempotencyKey, error) {
	var k store.IdempotencyKey
	if err := row.Scan(&k.WorkspaceID, &k.Key, &k.Fingerprint, &k.CreatedAt, &k.Response, &k.CompletedAt); err != nil {
		return store.IdempotencyKey{}, err
	}
	k.CreatedAt, k.CompletedAt = k.CreatedAt.UTC(), utcPtr(k.CompletedAt)
	if k.CompletedAt != nil && k.Response == nil {
		k.Response = []byte{}
	}
	return k, nil
}

// ReserveIdempotencyKey inserts, or replaces a record that is no longer live,
// in one upsert. ON CONFLICT DO UPDATE locks the conflicting row even when
// its WHERE leaves it unchanged, so the read that follows in the same
// transaction sees the live record that won, and nothing can release or
// replace it in between.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, k store.IdempotencyKey, expiredBefore, staleBefore time.Time) (store.IdempotencyKey, bool, error) {
	// Best effort, outside the transaction: purging other expired records is
	// housekeeping, not part of the reservation.
	if _, err := s.pool.Exec(ctx, "DELETE FROM idempotency_keys WHERE workspace_id = $1 AND created_at < $2 AND key <> $3",
		k.WorkspaceID, ts(expiredBefore), k.Key); err != nil {
		return store.IdempotencyKey{}, false, dbError(ctx, "reserve idempotency key: purge", err)
	}
	k.Response, k.CompletedAt = nil, nil
	var out store.IdempotencyKey
	reserved := false
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		got, err := scanIdempotencyKey(tx.QueryRow(ctx, "INSERT INTO idempotency_keys ("+idempotencyCols+")"+
			" VALUES ($1, $2, $3, $4, NULL, NULL)"+
			" ON CONFLICT (workspace_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"+
			" created_at = EXCLUDED.created_at, response = NULL, completed_at = NULL"+
			" WHERE idempotency_keys.created_at < $5"+
			" OR (idempotency_keys.completed_at IS NULL AND idempotency_keys.created_at < $6)"+
			" RETURNING "+idempotencyCols,
			k.WorkspaceID, k.Key, k.Fingerprint, ts(k.CreatedAt), ts(expiredBefore), ts(staleBefore)))
		if err == nil {
			out, reserved = got, true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return dbError(ctx, "reserve idempotency key", err)
		}
		out, err = scanIdempotencyKey(tx.QueryRow(ctx, "SELECT "+idempotencyCols+
			" FROM idempotency_keys WHERE workspace_id = $1 AND key = $2", k.WorkspaceID, k.Key))
		if err != nil {
			return rowError(ctx, "reserve idempotency key: read", "idempotency_key", err)
		}
		return nil
	})
	if err != nil {
		return store.IdempotencyKey{}, false, err
	}
	return out, reserved, nil
}

// CompleteIdempotencyKey stores the response of a pending record.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, workspaceID, key string, response []byte, at time.Time) error {
	if response == nil {
		response = []byte{}
	}
	tag, err := s.pool.Exec(ctx, "UPDATE idempotency_keys SET response = $3, completed_at = $4"+
		" WHERE workspace_id = $1 AND key = $2 AND completed_at IS NULL", workspaceID, key, response, ts(at))
	if err != nil {
		return dbError(ctx, "complete idempotency key", err)
	}
	if tag.RowsAffected() == 0 {
		return store.NotFound("idempotency_key")
	}
	return nil
}

// ReleaseIdempotencyKey deletes a pending record.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, workspaceID, key string) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM idempotency_keys WHERE workspace_id = $1 AND key = $2 AND completed_at IS NULL",
		workspaceID, key); err != nil {
		return dbError(ctx, "release idempotency key", err)
	}
	return nil
}
