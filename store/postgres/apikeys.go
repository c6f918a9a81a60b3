package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
)

const apiKeyCols = "id, workspace_id, name, scopes, prefix, hash, created_at, last_used_at, expires_at, revoked_at"

func scanAPIKey(row pgx.Row, extra ...any) (store.APIKey, error) {
	var k store.APIKey
	dest := append([]any{&k.ID, &k.WorkspaceID, &k.Name, &k.Scopes, &k.Prefix, &k.Hash,
		&k.CreatedAt, &k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.APIKey{}, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = utcPtr(k.LastUsedAt), utcPtr(k.ExpiresAt), utcPtr(k.RevokedAt)
	return k, nil
}

func collectAPIKey(row pgx.CollectableRow) (store.APIKey, error) { return scanAPIKey(row) }

// insertAPIKey stores a key and counts it, in one batch: one implicit
// transaction on the pool, part of q's when q is one. Its event goes in ev.
func insertAPIKey(ctx context.Context, q querier, ev *pending, k store.APIKey) error {
	if err := ev.Add(k.WorkspaceID, store.EventAPIKeyCreated, store.Resource{APIKey: &k}, nil); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("INSERT INTO api_keys ("+apiKeyCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		k.ID, k.WorkspaceID, k.Name, k.Scopes, k.Prefix, k.Hash,
		ts(k.CreatedAt), tsPtr(k.LastUsedAt), tsPtr(k.ExpiresAt), tsPtr(k.RevokedAt))
	b.Queue(addAPIKeyCount, k.WorkspaceID, 1)
	return execBatch(ctx, q, b)
}

// CreateAPIKey stores a new key.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	err := s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		return insertAPIKey(ctx, tx, ev, k)
	})
	if err != nil {
		return dbError(ctx, "create api key", err)
	}
	return nil
}

// GetAPIKey returns a key by id, whatever its workspace (for operators).
func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE id = $1", id))
	if err != nil {
		return store.APIKey{}, rowError(ctx, "get api key", "api_key", err)
	}
	return k, nil
}

// ListAPIKeys returns one page of the workspace's keys, revoked ones
// included, and their total, both read from one snapshot.
func (s *Store) ListAPIKeys(ctx context.Context, workspaceID string, page store.Page) ([]store.APIKey, int, error) {
	base := keyset.New(sqlDialect)
	base.And("workspace_id = " + base.Arg(workspaceID))
	var (
		items []store.APIKey
		total int
	)
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		var err error
		items, total, err = listPage(ctx, tx, apiKeyCols, "api_keys", base, keyset.KeySort, page, collectAPIKey,
			func() (int, error) { return apiKeyTotal(ctx, tx, workspaceID) })
		if err != nil {
			return dbError(ctx, "list api keys", err)
		}
		if total, err = apiKeyTotal(ctx, tx, workspaceID); err != nil {
			return dbError(ctx, "list api keys: total", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// RevokeAPIKey sets revoked_at unless it is set already: the UPDATE
// matches only a key not yet revoked, and is re-checked against a
// concurrent revocation's row, so the first time is kept and only the
// revocation that changed the key appends an event. Otherwise the key is
// read as it is.
func (s *Store) RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) (store.APIKey, error) {
	var k store.APIKey
	err := s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		var err error
		k, err = scanAPIKey(tx.QueryRow(ctx,
			"UPDATE api_keys SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING "+apiKeyCols,
			workspaceID, id, ts(at)))
		if err == nil {
			prev := k
			prev.RevokedAt = nil
			return ev.Add(workspaceID, store.EventAPIKeyRevoked, store.Resource{APIKey: &k}, &store.Resource{APIKey: &prev})
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return dbError(ctx, "revoke api key", err)
		}
		k, err = scanAPIKey(tx.QueryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE workspace_id = $1 AND id = $2", workspaceID, id))
		return rowError(ctx, "revoke api key", "api_key", err)
	})
	if err != nil {
		return store.APIKey{}, err
	}
	return k, nil
}

// LookupAPIKey finds a key and its workspace by the hash of the secret.
func (s *Store) LookupAPIKey(ctx context.Context, hash []byte) (store.APIKey, store.Workspace, error) {
	var w store.Workspace
	k, err := scanAPIKey(s.pool.QueryRow(ctx,
		"SELECT k.id, k.workspace_id, k.name, k.scopes, k.prefix, k.hash, k.created_at,"+
			" k.last_used_at, k.expires_at, k.revoked_at, w.id, w.name, w.plan, w.created_at"+
			" FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id WHERE k.hash = $1", hash),
		&w.ID, &w.Name, &w.Plan, &w.CreatedAt)
	if err != nil {
		return store.APIKey{}, store.Workspace{}, rowError(ctx, "lookup api key", "api_key", err)
	}
	w.CreatedAt = w.CreatedAt.UTC()
	return k, w, nil
}

// TouchAPIKey moves last_used_at forward to at. It runs on every
// authenticated request, so it is one statement that writes only when the
// time moves forward; the WHERE is re-checked against a concurrent writer's
// row, so the time never goes back. NotFound("api_key") if there is no such key.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	var exists bool
	err := s.pool.QueryRow(ctx,
		"WITH touched AS (UPDATE api_keys SET last_used_at = $2"+
			" WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2) RETURNING 1)"+
			" SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)",
		id, ts(at)).Scan(&exists)
	if err != nil {
		return dbError(ctx, "touch api key", err)
	}
	if !exists {
		return store.NotFound("api_key")
	}
	return nil
}
