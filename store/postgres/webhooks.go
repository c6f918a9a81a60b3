package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
)

// Webhook endpoints and their dispatch. Every replica claims from the same
// rows: a claim locks the due endpoints FOR UPDATE SKIP LOCKED and writes
// its lease in the same statement, so an endpoint another replica is
// claiming is skipped, and one whose lease is live does not qualify; every
// later dispatch write is guarded by the lease (owner and expiry), so a
// replica whose lease expired writes nothing.

const webhookEndpointCols = "id, workspace_id, url, description, event_types, enabled, disabled_reason, secret, " +
	"previous_secret, previous_secret_expires_at, created_at, updated_at, version, delivered_seq, failed_attempts, " +
	"next_attempt_at"

const webhookDeliveryCols = "id, workspace_id, endpoint_id, event_id, event_seq, event_type, attempt, created_at, " +
	"status_code, duration, response_excerpt, error, succeeded, next_retry_at, manual"

func scanWebhookEndpoint(row pgx.Row) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	if err := row.Scan(&e.ID, &e.WorkspaceID, &e.URL, &e.Description, &e.EventTypes, &e.Enabled, &e.DisabledReason,
		&e.Secret, &e.PreviousSecret, &e.PreviousSecretExpiresAt, &e.CreatedAt, &e.UpdatedAt, &e.Version,
		&e.DeliveredSeq, &e.FailedAttempts, &e.NextAttemptAt); err != nil {
		return store.WebhookEndpoint{}, err
	}
	if len(e.EventTypes) == 0 {
		e.EventTypes = nil
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	e.PreviousSecretExpiresAt, e.NextAttemptAt = utcPtr(e.PreviousSecretExpiresAt), utcPtr(e.NextAttemptAt)
	return e, nil
}

func collectWebhookEndpoint(row pgx.CollectableRow) (store.WebhookEndpoint, error) {
	return scanWebhookEndpoint(row)
}

func scanWebhookDelivery(row pgx.Row) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var dur int64
	if err := row.Scan(&d.ID, &d.WorkspaceID, &d.EndpointID, &d.EventID, &d.EventSeq, &d.EventType, &d.Attempt,
		&d.AttemptedAt, &d.StatusCode, &dur, &d.ResponseExcerpt, &d.Error, &d.Succeeded, &d.NextRetryAt, &d.Manual); err != nil {
		return store.WebhookDelivery{}, err
	}
	d.AttemptedAt, d.NextRetryAt, d.Duration = d.AttemptedAt.UTC(), utcPtr(d.NextRetryAt), time.Duration(dur)*time.Microsecond
	return d, nil
}

func collectWebhookDelivery(row pgx.CollectableRow) (store.WebhookDelivery, error) {
	return scanWebhookDelivery(row)
}

func typesArg(types []string) []string {
	if types == nil {
		return []string{}
	}
	return types
}

func (s *Store) CreateWebhookEndpoint(ctx context.Context, e store.WebhookEndpoint) (store.WebhookEndpoint, error) {
	if e.ID == "" {
		e.ID = ids.New("whe_")
	}
	// The cursor starts at the head the insert's statement reads: an event
	// committed after it is the endpoint's.
	out, err := scanWebhookEndpoint(s.pool.QueryRow(ctx, `INSERT INTO webhook_endpoints (id, workspace_id, url,
		description, event_types, enabled, disabled_reason, secret, previous_secret, previous_secret_expires_at,
		created_at, updated_at, version, delivered_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1,
			coalesce((SELECT last_seq FROM event_heads WHERE workspace_id = $2), 0))
		RETURNING `+webhookEndpointCols,
		e.ID, e.WorkspaceID, e.URL, e.Description, typesArg(e.EventTypes), e.Enabled, e.DisabledReason, e.Secret,
		e.PreviousSecret, tsPtr(e.PreviousSecretExpiresAt), ts(e.CreatedAt), ts(e.UpdatedAt)))
	if err != nil {
		return store.WebhookEndpoint{}, dbError(ctx, "create webhook endpoint", err)
	}
	return out, nil
}

func (s *Store) GetWebhookEndpoint(ctx context.Context, workspaceID, id string) (store.WebhookEndpoint, error) {
	e, err := scanWebhookEndpoint(s.pool.QueryRow(ctx,
		"SELECT "+webhookEndpointCols+" FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2", workspaceID, id))
	if err != nil {
		return store.WebhookEndpoint{}, rowError(ctx, "get webhook endpoint", "webhook_endpoint", err)
	}
	return e, nil
}

func (s *Store) ListWebhookEndpoints(ctx context.Context, workspaceID string, page store.Page) ([]store.WebhookEndpoint, int, error) {
	base := keyset.New(sqlDialect)
	base.And("workspace_id = " + base.Arg(workspaceID))
	var items []store.WebhookEndpoint
	var total int
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		var err error
		items, total, err = listPage(ctx, tx, webhookEndpointCols, "webhook_endpoints", base, keyset.KeySort, page,
			collectWebhookEndpoint, func() (int, error) { return count(ctx, tx, "webhook_endpoints", base) })
		return dbError(ctx, "list webhook endpoints", err)
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

func (s *Store) UpdateWebhookEndpoint(ctx context.Context, workspaceID, id string, update func(*store.WebhookEndpoint) error) (store.WebhookEndpoint, error) {
	var out store.WebhookEndpoint
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		cur, err := scanWebhookEndpoint(tx.QueryRow(ctx, "SELECT "+webhookEndpointCols+
			" FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspaceID, id))
		if err != nil {
			return rowError(ctx, "update webhook endpoint: read", "webhook_endpoint", err)
		}
		next := cur
		next.EventTypes = append([]string(nil), cur.EventTypes...)
		if err := update(&next); err != nil {
			return err
		}
		failed, nextAt := cur.FailedAttempts, cur.NextAttemptAt
		if next.Enabled && !cur.Enabled {
			next.DisabledReason, failed, nextAt = "", 0, nil
		}
		out, err = scanWebhookEndpoint(tx.QueryRow(ctx, `UPDATE webhook_endpoints SET url = $3, description = $4,
			event_types = $5, enabled = $6, disabled_reason = $7, secret = $8, previous_secret = $9,
			previous_secret_expires_at = $10, updated_at = $11, version = version + 1, failed_attempts = $12,
			next_attempt_at = $13 WHERE workspace_id = $1 AND id = $2 RETURNING `+webhookEndpointCols,
			workspaceID, id, next.URL, next.Description, typesArg(next.EventTypes), next.Enabled, next.DisabledReason,
			next.Secret, next.PreviousSecret, tsPtr(next.PreviousSecretExpiresAt), ts(next.UpdatedAt), failed, tsPtr(nextAt)))
		if err != nil {
			return rowError(ctx, "update webhook endpoint: write", "webhook_endpoint", err)
		}
		return nil
	})
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	return out, nil
}

func (s *Store) DeleteWebhookEndpoint(ctx context.Context, workspaceID, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2", workspaceID, id)
	if err != nil {
		return dbError(ctx, "delete webhook endpoint", err)
	}
	if tag.RowsAffected() == 0 {
		return store.NotFound("webhook_endpoint")
	}
	return nil
}

func (s *Store) DeleteWebhookEndpointIf(ctx context.Context, workspaceID, id string, check func(store.WebhookEndpoint) error) error {
	return s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		cur, err := scanWebhookEndpoint(tx.QueryRow(ctx, "SELECT "+webhookEndpointCols+
			" FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspaceID, id))
		if err != nil {
			return rowError(ctx, "delete webhook endpoint: read", "webhook_endpoint", err)
		}
		if err := check(cur); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2", workspaceID, id); err != nil {
			return dbError(ctx, "delete webhook endpoint", err)
		}
		return nil
	})
}

func endpointExists(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, workspaceID, id string) error {
	var one int
	err := q.QueryRow(ctx, "SELECT 1 FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2", workspaceID, id).Scan(&one)
	return rowError(ctx, "webhook endpoint", "webhook_endpoint", err)
}

func (s *Store) ListWebhookDeliveries(ctx context.Context, workspaceID, endpointID string, page store.Page) ([]store.WebhookDelivery, int, error) {
	base := keyset.New(sqlDialect)
	base.And("endpoint_id = " + base.Arg(endpointID))
	var items []store.WebhookDelivery
	var total int
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		if err := endpointExists(ctx, tx, workspaceID, endpointID); err != nil {
			return err
		}
		var err error
		items, total, err = listPage(ctx, tx, webhookDeliveryCols, "webhook_deliveries", base, keyset.KeySort, page,
			collectWebhookDelivery, func() (int, error) { return count(ctx, tx, "webhook_deliveries", base) })
		return dbError(ctx, "list webhook deliveries", err)
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

func (s *Store) GetWebhookDelivery(ctx context.Context, workspaceID, endpointID, id string) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		if err := endpointExists(ctx, tx, workspaceID, endpointID); err != nil {
			return err
		}
		var err error
		d, err = scanWebhookDelivery(tx.QueryRow(ctx, "SELECT "+webhookDeliveryCols+
			" FROM webhook_deliveries WHERE endpoint_id = $1 AND id = $2", endpointID, id))
		return rowError(ctx, "get webhook delivery", "webhook_delivery", err)
	})
	return d, err
}

func insertDelivery(ctx context.Context, tx pgx.Tx, d *store.WebhookDelivery) error {
	if d.ID == "" {
		d.ID = ids.New("whd_")
	}
	d.AttemptedAt = ts(d.AttemptedAt).UTC()
	d.Duration = d.Duration.Truncate(time.Microsecond)
	if d.NextRetryAt != nil {
		t := ts(*d.NextRetryAt).UTC()
		d.NextRetryAt = &t
	}
	_, err := tx.Exec(ctx, "INSERT INTO webhook_deliveries ("+webhookDeliveryCols+
		") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
		d.ID, d.WorkspaceID, d.EndpointID, d.EventID, d.EventSeq, d.EventType, d.Attempt, d.AttemptedAt, d.StatusCode,
		d.Duration.Microseconds(), d.ResponseExcerpt, d.Error, d.Succeeded, tsPtr(d.NextRetryAt), d.Manual)
	return dbError(ctx, "insert webhook delivery", err)
}

func (s *Store) RecordManualWebhookDelivery(ctx context.Context, d store.WebhookDelivery) (store.WebhookDelivery, error) {
	d.Manual = true
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := endpointExists(ctx, tx, d.WorkspaceID, d.EndpointID); err != nil {
			return err
		}
		return insertDelivery(ctx, tx, &d)
	})
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	return d, nil
}

// ClaimWebhookEndpoints is one statement: the due rows, locked SKIP LOCKED
// (a row another claim holds is not waited for; the row it leased no longer
// qualifies once that claim commits, which the recheck of a locked row's
// newest version sees), get the lease.
func (s *Store) ClaimWebhookEndpoints(ctx context.Context, owner string, now time.Time, ttl time.Duration, limit int) ([]store.WebhookEndpoint, error) {
	if limit < 1 || owner == "" {
		return nil, errors.New("claim webhook endpoints: an owner and a limit of at least 1")
	}
	rows, err := s.pool.Query(ctx, `UPDATE webhook_endpoints w SET lease_owner = $1, lease_expires_at = $3
		WHERE w.id IN (
			SELECT e.id FROM webhook_endpoints e JOIN event_heads h ON h.workspace_id = e.workspace_id
			WHERE e.enabled AND e.delivered_seq < h.last_seq
			AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= $2)
			AND (e.lease_expires_at IS NULL OR e.lease_expires_at <= $2)
			ORDER BY e.next_attempt_at NULLS FIRST, e.id LIMIT $4
			FOR UPDATE OF e SKIP LOCKED)
		RETURNING `+prefixed("w.", webhookEndpointCols), owner, ts(now), ts(now.Add(ttl)), limit)
	if err != nil {
		return nil, dbError(ctx, "claim webhook endpoints", err)
	}
	out, err := pgx.CollectRows(rows, collectWebhookEndpoint)
	if err != nil {
		return nil, dbError(ctx, "claim webhook endpoints", err)
	}
	return out, nil
}

func lost(ctx context.Context, tagRows int64, err error, op string) error {
	if err != nil {
		return dbError(ctx, op, err)
	}
	if tagRows == 0 {
		return store.ErrLeaseLost
	}
	return nil
}

func (s *Store) RenewWebhookLease(ctx context.Context, owner, endpointID string, now time.Time, ttl time.Duration) error {
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_endpoints SET lease_expires_at = $4
		WHERE id = $1 AND lease_owner = $2 AND lease_expires_at > $3`, endpointID, owner, ts(now), ts(now.Add(ttl)))
	return lost(ctx, tag.RowsAffected(), err, "renew webhook lease")
}

func (s *Store) ReleaseWebhookLease(ctx context.Context, owner, endpointID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhook_endpoints SET lease_owner = '', lease_expires_at = NULL
		WHERE id = $1 AND lease_owner = $2`, endpointID, owner)
	return dbError(ctx, "release webhook lease", err)
}

func leased(ctx context.Context, tx pgx.Tx, owner, endpointID string, now time.Time, lock bool) (store.WebhookEndpoint, error) {
	q := "SELECT " + webhookEndpointCols + " FROM webhook_endpoints WHERE id = $1 AND lease_owner = $2 AND lease_expires_at > $3"
	if lock {
		q += " FOR UPDATE"
	}
	e, err := scanWebhookEndpoint(tx.QueryRow(ctx, q, endpointID, owner, ts(now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.WebhookEndpoint{}, store.ErrLeaseLost
	}
	if err != nil {
		return store.WebhookEndpoint{}, dbError(ctx, "webhook lease", err)
	}
	return e, nil
}

func (s *Store) NextWebhookEvent(ctx context.Context, owner, endpointID string, now time.Time) (store.WebhookEndpoint, store.Event, bool, error) {
	var e store.WebhookEndpoint
	var ev store.Event
	var found bool
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		if e, err = leased(ctx, tx, owner, endpointID, now, false); err != nil {
			return err
		}
		// The head is read first, in a statement of its own: the events
		// read after it include every one up to it (seqs commit in order),
		// so when none of them is for the endpoint, the cursor may move to
		// it. Read after the events, a commit in between would be skipped.
		var head int64
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(last_seq), 0) FROM event_heads WHERE workspace_id = $1",
			e.WorkspaceID).Scan(&head); err != nil {
			return dbError(ctx, "next webhook event: head", err)
		}
		where := "workspace_id = $1 AND seq > $2"
		args := []any{e.WorkspaceID, e.DeliveredSeq}
		if len(e.EventTypes) > 0 {
			where += " AND type = ANY($3)"
			args = append(args, e.EventTypes)
		}
		rows, err := tx.Query(ctx, "SELECT "+eventCols+" FROM events WHERE "+where+" ORDER BY seq LIMIT 1", args...)
		if err != nil {
			return dbError(ctx, "next webhook event", err)
		}
		evs, err := pgx.CollectRows(rows, scanEvent)
		if err != nil {
			return dbError(ctx, "next webhook event", err)
		}
		to := head
		if len(evs) == 1 {
			ev, found = evs[0], true
			to = ev.Seq - 1
		}
		if to <= e.DeliveredSeq {
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET delivered_seq = $4
			WHERE id = $1 AND lease_owner = $2 AND lease_expires_at > $3 AND delivered_seq < $4`,
			endpointID, owner, ts(now), to)
		if err := lost(ctx, tag.RowsAffected(), err, "next webhook event: cursor"); err != nil {
			return err
		}
		e.DeliveredSeq = to
		return nil
	})
	if err != nil {
		return store.WebhookEndpoint{}, store.Event{}, false, err
	}
	return e, ev, found, nil
}

func (s *Store) RecordWebhookAttempt(ctx context.Context, owner string, now time.Time, a store.WebhookAttempt) (store.WebhookEndpoint, error) {
	d := a.Delivery
	d.Manual = false
	var out store.WebhookEndpoint
	err := s.inWrite(ctx, func(tx pgx.Tx, ev *pending) error {
		e, err := leased(ctx, tx, owner, d.EndpointID, now, true)
		if err != nil {
			return err
		}
		if d.EventSeq <= e.DeliveredSeq {
			return fmt.Errorf("%w: webhook attempt of an event already delivered", store.ErrConflict)
		}
		d.WorkspaceID = e.WorkspaceID
		if err := insertDelivery(ctx, tx, &d); err != nil {
			return err
		}
		var q string
		args := []any{e.ID}
		switch {
		case d.Succeeded:
			q = "UPDATE webhook_endpoints SET delivered_seq = $2, failed_attempts = 0, next_attempt_at = NULL WHERE id = $1"
			args = append(args, d.EventSeq)
		case d.NextRetryAt != nil:
			q = "UPDATE webhook_endpoints SET failed_attempts = failed_attempts + 1, next_attempt_at = $2 WHERE id = $1"
			args = append(args, ts(*d.NextRetryAt))
		default:
			q = `UPDATE webhook_endpoints SET failed_attempts = failed_attempts + 1, next_attempt_at = NULL,
				enabled = false, disabled_reason = $2, lease_owner = '', lease_expires_at = NULL WHERE id = $1`
			args = append(args, a.DisableReason)
		}
		if out, err = scanWebhookEndpoint(tx.QueryRow(ctx, q+" RETURNING "+webhookEndpointCols, args...)); err != nil {
			return dbError(ctx, "record webhook attempt", err)
		}
		if !d.Succeeded && d.NextRetryAt == nil {
			return ev.Add(e.WorkspaceID, store.EventEndpointDisabled, store.Resource{WebhookEndpoint: &out}, nil)
		}
		return nil
	})
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	return out, nil
}

// prefixed qualifies each column of a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = alias + parts[i]
	}
	return strings.Join(parts, ", ")
}

func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, errors.New("prune webhook deliveries: limit below 1")
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN
		(SELECT id FROM webhook_deliveries WHERE created_at < $1 ORDER BY created_at LIMIT $2)`, ts(before), limit)
	if err != nil {
		return 0, dbError(ctx, "prune webhook deliveries", err)
	}
	return int(tag.RowsAffected()), nil
}
