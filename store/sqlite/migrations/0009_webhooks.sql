-- Webhooks (issue 14): endpoints that receive a workspace's event log, and
-- one row per delivery attempt (see webhooks.go).
--
-- An endpoint carries its dispatch state: delivered_seq, the cursor (every
-- event up to it delivered or filtered out), the retry state of the event
-- after it (failed_attempts, next_attempt_at), and the lease of the server
-- delivering to it (lease_owner, lease_expires_at; '' and NULL when free).
-- event_types is a JSON array ('[]': all). Times are unix microseconds.
CREATE TABLE webhook_endpoints (
    id                         TEXT    NOT NULL PRIMARY KEY,
    workspace_id               TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url                        TEXT    NOT NULL,
    description                TEXT    NOT NULL,
    event_types                TEXT    NOT NULL,
    enabled                    INTEGER NOT NULL,
    disabled_reason            TEXT    NOT NULL DEFAULT '',
    secret                     TEXT    NOT NULL,
    previous_secret            TEXT    NOT NULL DEFAULT '',
    previous_secret_expires_at INTEGER,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    version                    INTEGER NOT NULL,
    delivered_seq              INTEGER NOT NULL,
    failed_attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at            INTEGER,
    lease_owner                TEXT    NOT NULL DEFAULT '',
    lease_expires_at           INTEGER
) STRICT;

CREATE INDEX webhook_endpoints_by_workspace ON webhook_endpoints (workspace_id, created_at, id);

-- The claim reads the enabled endpoints only.
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints (workspace_id) WHERE enabled = 1;

-- created_at is when the attempt was made (WebhookDelivery.AttemptedAt):
-- the list's order, newest first. duration is in microseconds.
CREATE TABLE webhook_deliveries (
    id               TEXT    NOT NULL PRIMARY KEY,
    workspace_id     TEXT    NOT NULL,
    endpoint_id      TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT    NOT NULL,
    event_seq        INTEGER NOT NULL,
    event_type       TEXT    NOT NULL,
    attempt          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    status_code      INTEGER NOT NULL,
    duration         INTEGER NOT NULL,
    response_excerpt TEXT    NOT NULL,
    error            TEXT    NOT NULL,
    succeeded        INTEGER NOT NULL,
    next_retry_at    INTEGER,
    manual           INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at, id);

-- Pruning deletes the oldest attempts first, with the events' retention.
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (created_at);
