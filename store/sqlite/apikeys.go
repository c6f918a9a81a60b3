package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
	"github.com/example/workspace/store/sqlite/engine"
)

const apiKeyCols = `id, workspace_id, name, scopes, prefix, hash, created_at, last_used_at, expires_at, revoked_at`

func scanAPIKey(sc engine.Scanner) (store.APIKey, error) {
	var k store.APIKey
	var scopes string
	var created int64
	var lastUsed, expires, revoked sql.NullInt64
	if err := sc.Scan(&k.ID, &k.WorkspaceID, &k.Name, &scopes, &k.Prefix, &k.Hash,
		&created, &lastUsed, &expires, &revoked); err != nil {
		return store.APIKey{}, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return store.APIKey{}, fmt.Errorf("scopes of key %s: %w", k.ID, err)
	}
	k.CreatedAt = fromMicros(created)
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = fromOptMicros(lastUsed), fromOptMicros(expires), fromOptMicros(revoked)
	return k, nil
}

func insertAPIKey(ctx context.Context, tx *engine.Tx, ev *pending, k store.APIKey) error {
	scopes, err := json.Marshal(k.Scopes)
	if err != nil {
		return err
	}
	var e encoder
	args := []any{k.ID, k.WorkspaceID, k.Name, string(scopes), k.Prefix, k.Hash,
		e.micros(k.CreatedAt), e.optMicros(k.LastUsedAt), e.optMicros(k.ExpiresAt), e.optMicros(k.RevokedAt)}
	if e.err != nil {
		return e.err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	switch {
	case isUnique(err):
		return conflict("api key id or hash already exists")
	case isForeignKey(err):
		return store.NotFound("workspace")
	case err != nil:
		return err
	}
	if err := addCount(ctx, tx, k.WorkspaceID, apiKeysCount, 1); err != nil {
		return err
	}
	return ev.Add(k.WorkspaceID, store.EventAPIKeyCreated, store.Resource{APIKey: &k}, nil)
}

func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	return wrap(ctx, "create api key", s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		return insertAPIKey(ctx, tx, ev, k)
	}))
}

func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, store.NotFound("api_key")
	}
	return k, wrap(ctx, "get api key", err)
}

func (s *Store) ListAPIKeys(ctx context.Context, workspaceID string, page store.Page) ([]store.APIKey, int, error) {
	var out []store.APIKey
	var total int
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		base := keyset.New(sqlDialect)
		base.And("workspace_id = " + base.Arg(workspaceID))
		var err error
		out, err = listParts(ctx, tx, scanAPIKey, apiKeyCols, "api_keys", base, keyset.KeySort, page)
		if err != nil {
			return err
		}
		total, err = apiKeyTotal(ctx, tx, workspaceID)
		return err
	})
	if err != nil {
		return nil, 0, wrap(ctx, "list api keys", err)
	}
	return out, total, nil
}

func (s *Store) RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) (store.APIKey, error) {
	var e encoder
	n := e.micros(at)
	if e.err != nil {
		return store.APIKey{}, e.err
	}
	var k store.APIKey
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		// Only a key not yet revoked changes, and only then is there an
		// event: a repeated revocation is no change.
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ?
			WHERE workspace_id = ? AND id = ? AND revoked_at IS NULL`, n, workspaceID, id)
		if err != nil {
			return err
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return err
		}
		k, err = scanAPIKey(tx.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE workspace_id = ? AND id = ?`, workspaceID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("api_key")
		}
		if err != nil || changed == 0 {
			return err
		}
		prev := k
		prev.RevokedAt = nil
		return ev.Add(workspaceID, store.EventAPIKeyRevoked, store.Resource{APIKey: &k}, &store.Resource{APIKey: &prev})
	})
	if err != nil {
		return store.APIKey{}, wrap(ctx, "revoke api key", err)
	}
	return k, nil
}

func (s *Store) LookupAPIKey(ctx context.Context, hash []byte) (store.APIKey, store.Workspace, error) {
	var w store.Workspace
	var wsCreated int64
	row := s.db.QueryRowContext(ctx, `SELECT `+prefixed("k.", apiKeyCols)+`, w.id, w.name, w.plan, w.created_at
		FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
		WHERE k.hash = ?`, hash)
	k, err := scanAPIKey(withExtra{row, []any{&w.ID, &w.Name, &w.Plan, &wsCreated}})
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, store.Workspace{}, store.NotFound("api_key")
	}
	if err != nil {
		return store.APIKey{}, store.Workspace{}, wrap(ctx, "lookup api key", err)
	}
	w.CreatedAt = fromMicros(wsCreated)
	return k, w, nil
}

// withExtra scans a joined row: the record's scan function fills its own
// columns and the extra destinations take the rest.
type withExtra struct {
	sc    engine.Scanner
	extra []any
}

func (x withExtra) Scan(dest ...any) error { return x.sc.Scan(append(dest, x.extra...)...) }

// prefixed qualifies each column of a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = alias + parts[i]
	}
	return strings.Join(parts, ", ")
}

// TouchAPIKey compares in SQL, so that of two concurrent touches the later
// time wins whatever order they commit in.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	var e encoder
	n := e.micros(at)
	if e.err != nil {
		return e.err
	}
	return wrap(ctx, "touch api key", s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, n, id, n)
		if err := affected(res, err, "api_key"); !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM api_keys WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("api_key")
		}
		return err
	}))
}
