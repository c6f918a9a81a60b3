package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
	"github.com/example/workspace/store/sqlite/engine"
)

// Webhook endpoints and their dispatch. SQLite has one writer: a claim (a
// write) sees every earlier claim committed, so two claims never lease one
// endpoint; leases matter here only across restarts (a killed server's
// lease is taken over once it expires).

const webhookEndpointCols = `id, workspace_id, url, description, event_types, enabled, disabled_reason, secret, ` +
	`previous_secret, previous_secret_expires_at, created_at, updated_at, version, delivered_seq, failed_attempts, ` +
	`next_attempt_at`

const webhookDeliveryCols = `id, workspace_id, endpoint_id, event_id, event_seq, event_type, attempt, created_at, ` +
	`status_code, duration, response_excerpt, error, succeeded, next_retry_at, manual`

func scanWebhookEndpoint(sc engine.Scanner) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var types string
	var prevExp, next sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&e.ID, &e.WorkspaceID, &e.URL, &e.Description, &types, &e.Enabled, &e.DisabledReason, &e.Secret,
		&e.PreviousSecret, &prevExp, &created, &updated, &e.Version, &e.DeliveredSeq, &e.FailedAttempts, &next); err != nil {
		return store.WebhookEndpoint{}, err
	}
	if err := json.Unmarshal([]byte(types), &e.EventTypes); err != nil {
		return store.WebhookEndpoint{}, err
	}
	if len(e.EventTypes) == 0 {
		e.EventTypes = nil
	}
	e.PreviousSecretExpiresAt, e.NextAttemptAt = fromOptMicros(prevExp), fromOptMicros(next)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return e, nil
}

func scanWebhookDelivery(sc engine.Scanner) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var at, dur int64
	var next sql.NullInt64
	if err := sc.Scan(&d.ID, &d.WorkspaceID, &d.EndpointID, &d.EventID, &d.EventSeq, &d.EventType, &d.Attempt, &at,
		&d.StatusCode, &dur, &d.ResponseExcerpt, &d.Error, &d.Succeeded, &next, &d.Manual); err != nil {
		return store.WebhookDelivery{}, err
	}
	d.AttemptedAt, d.Duration, d.NextRetryAt = fromMicros(at), time.Duration(dur)*time.Microsecond, fromOptMicros(next)
	return d, nil
}

func eventTypesJSON(types []string) string {
	if types == nil {
		types = []string{}
	}
	b, _ := json.Marshal(types)
	return string(b)
}

func getWebhookEndpoint(ctx context.Context, q engine.Querier, workspaceID, id string) (store.WebhookEndpoint, error) {
	e, err := scanWebhookEndpoint(q.QueryRowContext(ctx,
		`SELECT `+webhookEndpointCols+` FROM webhook_endpoints WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.WebhookEndpoint{}, store.NotFound("webhook_endpoint")
	}
	return e, err
}

func (s *Store) CreateWebhookEndpoint(ctx context.Context, e store.WebhookEndpoint) (store.WebhookEndpoint, error) {
	if e.ID == "" {
		e.ID = ids.New("whe_")
	}
	var enc encoder
	args := []any{e.ID, e.WorkspaceID, e.URL, e.Description, eventTypesJSON(e.EventTypes), e.Enabled, e.DisabledReason,
		e.Secret, e.PreviousSecret, enc.optMicros(e.PreviousSecretExpiresAt), enc.micros(e.CreatedAt), enc.micros(e.UpdatedAt)}
	if enc.err != nil {
		return store.WebhookEndpoint{}, enc.err
	}
	var out store.WebhookEndpoint
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, _ *pending) error {
		h, err := readHead(ctx, tx, e.WorkspaceID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, workspace_id, url, description, event_types,
			enabled, disabled_reason, secret, previous_secret, previous_secret_expires_at, created_at, updated_at, version,
			delivered_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`, append(args, h.LastSeq)...)
		switch {
		case isUnique(err):
			return conflict("webhook endpoint id already exists")
		case isForeignKey(err):
			return store.NotFound("workspace")
		case err != nil:
			return err
		}
		out, err = getWebhookEndpoint(ctx, tx, e.WorkspaceID, e.ID)
		return err
	})
	if err != nil {
		return store.WebhookEndpoint{}, wrap(ctx, "create webhook endpoint", err)
	}
	return out, nil
}

func (s *Store) GetWebhookEndpoint(ctx context.Context, workspaceID, id string) (store.WebhookEndpoint, error) {
	e, err := getWebhookEndpoint(ctx, s.db, workspaceID, id)
	return e, wrap(ctx, "get webhook endpoint", err)
}

func (s *Store) ListWebhookEndpoints(ctx context.Context, workspaceID string, page store.Page) ([]store.WebhookEndpoint, int, error) {
	var out []store.WebhookEndpoint
	var total int
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		base := keyset.New(sqlDialect)
		base.And("workspace_id = " + base.Arg(workspaceID))
		var err error
		out, err = listParts(ctx, tx, scanWebhookEndpoint, webhookEndpointCols, "webhook_endpoints", base, keyset.KeySort, page)
		if err != nil {
			return err
		}
		total, err = count(ctx, tx, `SELECT count(*) FROM webhook_endpoints WHERE workspace_id = ?`, workspaceID)
		return err
	})
	if err != nil {
		return nil, 0, wrap(ctx, "list webhook endpoints", err)
	}
	return out, total, nil
}

func (s *Store) UpdateWebhookEndpoint(ctx context.Context, workspaceID, id string, update func(*store.WebhookEndpoint) error) (store.WebhookEndpoint, error) {
	var out store.WebhookEndpoint
	var updateErr error
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, _ *pending) error {
		cur, err := getWebhookEndpoint(ctx, tx, workspaceID, id)
		if err != nil {
			return err
		}
		next := cur
		next.EventTypes = append([]string(nil), cur.EventTypes...)
		if updateErr = update(&next); updateErr != nil {
			return updateErr
		}
		next.ID, next.WorkspaceID, next.CreatedAt = cur.ID, cur.WorkspaceID, cur.CreatedAt
		next.DeliveredSeq, next.FailedAttempts, next.NextAttemptAt = cur.DeliveredSeq, cur.FailedAttempts, cur.NextAttemptAt
		next.Version = cur.Version + 1
		if next.Enabled && !cur.Enabled {
			next.DisabledReason, next.FailedAttempts, next.NextAttemptAt = "", 0, nil
		}
		var enc encoder
		args := []any{next.URL, next.Description, eventTypesJSON(next.EventTypes), next.Enabled, next.DisabledReason,
			next.Secret, next.PreviousSecret, enc.optMicros(next.PreviousSecretExpiresAt), enc.micros(next.UpdatedAt),
			next.Version, next.FailedAttempts, enc.optMicros(next.NextAttemptAt), workspaceID, id}
		if enc.err != nil {
			return enc.err
		}
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, enabled = ?,
			disabled_reason = ?, secret = ?, previous_secret = ?, previous_secret_expires_at = ?, updated_at = ?, version = ?,
			failed_attempts = ?, next_attempt_at = ? WHERE workspace_id = ? AND id = ?`, args...)
		if err := affected(res, err, "webhook_endpoint"); err != nil {
			return err
		}
		out, err = getWebhookEndpoint(ctx, tx, workspaceID, id)
		return err
	})
	if updateErr != nil {
		return store.WebhookEndpoint{}, updateErr
	}
	if err != nil {
		return store.WebhookEndpoint{}, wrap(ctx, "update webhook endpoint", err)
	}
	return out, nil
}

func (s *Store) DeleteWebhookEndpoint(ctx context.Context, workspaceID, id string) error {
	return wrap(ctx, "delete webhook endpoint", s.write(ctx, func(ctx context.Context, tx *engine.Tx, _ *pending) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		return affected(res, err, "webhook_endpoint")
	}))
}

func (s *Store) DeleteWebhookEndpointIf(ctx context.Context, workspaceID, id string, check func(store.WebhookEndpoint) error) error {
	var checkErr error
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, _ *pending) error {
		cur, err := getWebhookEndpoint(ctx, tx, workspaceID, id)
		if err != nil {
			return err
		}
		if checkErr = check(cur); checkErr != nil {
			return checkErr
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		return affected(res, err, "webhook_endpoint")
	})
	if checkErr != nil {
		return checkErr
	}
	return wrap(ctx, "delete webhook endpoint", err)
}

func endpointExists(ctx context.Context, q engine.Querier, workspaceID, id string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM webhook_endpoints WHERE workspace_id = ? AND id = ?`, workspaceID, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.NotFound("webhook_endpoint")
	}
	return err
}

func (s *Store) ListWebhookDeliveries(ctx context.Context, workspaceID, endpointID string, page store.Page) ([]store.WebhookDelivery, int, error) {
	var out []store.WebhookDelivery
	var total int
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		if err := endpointExists(ctx, tx, workspaceID, endpointID); err != nil {
			return err
		}
		base := keyset.New(sqlDialect)
		base.And("endpoint_id = " + base.Arg(endpointID))
		var err error
		out, err = listParts(ctx, tx, scanWebhookDelivery, webhookDeliveryCols, "webhook_deliveries", base, keyset.KeySort, page)
		if err != nil {
			return err
		}
		total, err = count(ctx, tx, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ?`, endpointID)
		return err
	})
	if err != nil {
		return nil, 0, wrap(ctx, "list webhook deliveries", err)
	}
	return out, total, nil
}

func (s *Store) GetWebhookDelivery(ctx context.Context, workspaceID, endpointID, id string) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		if err := endpointExists(ctx, tx, workspaceID, endpointID); err != nil {
			return err
		}
		var err error
		d, err = scanWebhookDelivery(tx.QueryRowContext(ctx, `SELECT `+webhookDeliveryCols+` FROM webhook_deliveries
			WHERE endpoint_id = ? AND id = ?`, endpointID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("webhook_delivery")
		}
		return err
	})
	return d, wrap(ctx, "get webhook delivery", err)
}

func insertDelivery(ctx context.Context, tx *engine.Tx, d *store.WebhookDelivery) error {
	if d.ID == "" {
		d.ID = ids.New("whd_")
	}
	d.AttemptedAt = d.AttemptedAt.Truncate(time.Microsecond).UTC()
	d.Duration = d.Duration.Truncate(time.Microsecond)
	var enc encoder
	args := []any{d.ID, d.WorkspaceID, d.EndpointID, d.EventID, d.EventSeq, d.EventType, d.Attempt, enc.micros(d.AttemptedAt),
		d.StatusCode, d.Duration.Microseconds(), d.ResponseExcerpt, d.Error, d.Succeeded, enc.optMicros(d.NextRetryAt), d.Manual}
	if enc.err != nil {
		return enc.err
	}
	if d.NextRetryAt != nil {
		t := d.NextRetryAt.Truncate(time.Microsecond).UTC()
		d.NextRetryAt = &t
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+webhookDeliveryCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if isUnique(err) {
		return conflict("webhook delivery id already exists")
	}
	return err
}

func (s *Store) RecordManualWebhookDelivery(ctx context.Context, d store.WebhookDelivery) (store.WebhookDelivery, error) {
	d.Manual = true
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, _ *pending) error {
		if err := endpointExists(ctx, tx, d.WorkspaceID, d.EndpointID); err != nil {
			return err
		}
		return insertDelivery(ctx, tx, &d)
	})
	if err != nil {
		return store.WebhookDelivery{}, wrap(ctx, "record webhook delivery", err)
	}
	return d, nil
}

// Dispatch.

// claimDue selects the due endpoints (now, twice, then the limit).
var claimDue = `SELECT ` + webhookEndpointColsE + ` FROM webhook_endpoints e
	WHERE e.enabled = 1
	AND e.delivered_seq < coalesce((SELECT max(v.seq) FROM events v WHERE v.workspace_id = e.workspace_id), 0)
	AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= ?)
	AND (e.lease_expires_at IS NULL OR e.lease_expires_at <= ?)
	ORDER BY coalesce(e.next_attempt_at, 0), e.id LIMIT ?`

var webhookEndpointColsE = prefixed("e.", webhookEndpointCols)

// ClaimWebhookEndpoints looks on a reader first: the worker claims after
// every commit, and most find nothing due, which then costs no write (no
// fsync). What it finds is selected again in the write, which alone
// decides.
func (s *Store) ClaimWebhookEndpoints(ctx context.Context, owner string, now time.Time, ttl time.Duration, limit int) ([]store.WebhookEndpoint, error) {
	if limit < 1 || owner == "" {
		return nil, errors.New("claim webhook endpoints: an owner and a limit of at least 1")
	}
	n, until := now.UnixMicro(), now.Add(ttl).UnixMicro()
	var due []store.WebhookEndpoint
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		var err error
		due, err = list(ctx, tx, scanWebhookEndpoint, claimDue, n, n, 1)
		return err
	})
	if err != nil || len(due) == 0 {
		return nil, wrap(ctx, "claim webhook endpoints", err)
	}
	var out []store.WebhookEndpoint
	err = s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, claimDue, n, n, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			e, err := scanWebhookEndpoint(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, e)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, e := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET lease_owner = ?, lease_expires_at = ? WHERE id = ?`,
				owner, until, e.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(ctx, "claim webhook endpoints", err)
	}
	return out, nil
}

// leased reads the endpoint if owner holds its lease at now.
func leased(ctx context.Context, q engine.Querier, owner, endpointID string, now time.Time) (store.WebhookEndpoint, error) {
	e, err := scanWebhookEndpoint(q.QueryRowContext(ctx, `SELECT `+webhookEndpointCols+` FROM webhook_endpoints
		WHERE id = ? AND lease_owner = ? AND lease_expires_at > ?`, endpointID, owner, now.UnixMicro()))
	if errors.Is(err, sql.ErrNoRows) {
		return store.WebhookEndpoint{}, store.ErrLeaseLost
	}
	return e, err
}

func leaseErr(ctx context.Context, op string, err error) error {
	if errors.Is(err, store.ErrLeaseLost) {
		return err
	}
	return wrap(ctx, op, err)
}

func (s *Store) RenewWebhookLease(ctx context.Context, owner, endpointID string, now time.Time, ttl time.Duration) error {
	err := s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET lease_expires_at = ?
			WHERE id = ? AND lease_owner = ? AND lease_expires_at > ?`, now.Add(ttl).UnixMicro(), endpointID, owner, now.UnixMicro())
		if err := affected(res, err, "lease"); errors.Is(err, store.ErrNotFound) {
			return store.ErrLeaseLost
		} else {
			return err
		}
	})
	return leaseErr(ctx, "renew webhook lease", err)
}

func (s *Store) ReleaseWebhookLease(ctx context.Context, owner, endpointID string) error {
	return wrap(ctx, "release webhook lease", s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET lease_owner = '', lease_expires_at = NULL
			WHERE id = ? AND lease_owner = ?`, endpointID, owner)
		return err
	}))
}

// NextWebhookEvent reads in a read transaction (one snapshot: the head and
// the events agree) and writes only when the cursor must move past events
// the filter leaves out.
func (s *Store) NextWebhookEvent(ctx context.Context, owner, endpointID string, now time.Time) (store.WebhookEndpoint, store.Event, bool, error) {
	var e store.WebhookEndpoint
	var ev store.Event
	var found bool
	var head int64
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		var err error
		if e, err = leased(ctx, tx, owner, endpointID, now); err != nil {
			return err
		}
		where := `workspace_id = ? AND seq > ?`
		args := []any{e.WorkspaceID, e.DeliveredSeq}
		if len(e.EventTypes) > 0 {
			where += ` AND type IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(e.EventTypes)), ", ") + `)`
			for _, t := range e.EventTypes {
				args = append(args, t)
			}
		}
		evs, err := list(ctx, tx, scanEvent, `SELECT `+eventCols+` FROM events WHERE `+where+` ORDER BY seq LIMIT 1`, args...)
		if err != nil {
			return err
		}
		if len(evs) == 1 {
			ev, found = evs[0], true
			return nil
		}
		h, err := readHead(ctx, tx, e.WorkspaceID)
		head = h.LastSeq
		return err
	})
	if err != nil {
		return store.WebhookEndpoint{}, store.Event{}, false, leaseErr(ctx, "next webhook event", err)
	}
	to := head
	if found {
		to = ev.Seq - 1
	}
	if to > e.DeliveredSeq {
		err := s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET delivered_seq = ?
				WHERE id = ? AND lease_owner = ? AND lease_expires_at > ? AND delivered_seq < ?`,
				to, endpointID, owner, now.UnixMicro(), to)
			if err := affected(res, err, "lease"); errors.Is(err, store.ErrNotFound) {
				return store.ErrLeaseLost
			} else {
				return err
			}
		})
		if err != nil {
			return store.WebhookEndpoint{}, store.Event{}, false, leaseErr(ctx, "next webhook event", err)
		}
		e.DeliveredSeq = to
	}
	return e, ev, found, nil
}

func (s *Store) RecordWebhookAttempt(ctx context.Context, owner string, now time.Time, a store.WebhookAttempt) (store.WebhookEndpoint, error) {
	d := a.Delivery
	d.Manual = false
	var out store.WebhookEndpoint
	err := s.write(ctx, func(ctx context.Context, tx *engine.Tx, ev *pending) error {
		e, err := leased(ctx, tx, owner, d.EndpointID, now)
		if err != nil {
			return err
		}
		if d.EventSeq <= e.DeliveredSeq {
			return conflict("webhook attempt of an event already delivered")
		}
		d.WorkspaceID = e.WorkspaceID
		if err := insertDelivery(ctx, tx, &d); err != nil {
			return err
		}
		var enc encoder
		switch {
		case d.Succeeded:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET delivered_seq = ?, failed_attempts = 0,
				next_attempt_at = NULL WHERE id = ?`, d.EventSeq, e.ID)
		case d.NextRetryAt != nil:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failed_attempts = failed_attempts + 1,
				next_attempt_at = ? WHERE id = ?`, enc.micros(*d.NextRetryAt), e.ID)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failed_attempts = failed_attempts + 1,
				next_attempt_at = NULL, enabled = 0, disabled_reason = ?, lease_owner = '', lease_expires_at = NULL
				WHERE id = ?`, a.DisableReason, e.ID)
		}
		if err != nil {
			return err
		}
		if enc.err != nil {
			return enc.err
		}
		if out, err = getWebhookEndpoint(ctx, tx, e.WorkspaceID, e.ID); err != nil {
			return err
		}
		if !d.Succeeded && d.NextRetryAt == nil {
			return ev.Add(e.WorkspaceID, store.EventEndpointDisabled, store.Resource{WebhookEndpoint: &out}, nil)
		}
		return nil
	})
	if err != nil {
		return store.WebhookEndpoint{}, leaseErr(ctx, "record webhook attempt", err)
	}
	return out, nil
}

func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, errors.New("prune webhook deliveries: limit below 1")
	}
	var enc encoder
	cut := enc.micros(before)
	if enc.err != nil {
		return 0, enc.err
	}
	var n int64
	err := s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE rowid IN
			(SELECT rowid FROM webhook_deliveries WHERE created_at < ? ORDER BY created_at LIMIT ?)`, cut, limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, wrap(ctx, "prune webhook deliveries", err)
	}
	return int(n), nil
}
