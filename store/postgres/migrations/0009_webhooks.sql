-- Webhooks (issue 14): endpoints that receive a workspace's event log, and
-- one row per delivery attempt (see webhooks.go).
--
-- An endpoint carries its dispatch state: delivered_seq, the cursor (every
-- event up to it delivered or filtered out), the retry state of the event
-- after it (failed_attempts, next_attempt_at), and the lease of the replica
-- delivering to it (lease_owner, lease_expires_at; '' and NULL when free).
-- A claim locks the due rows FOR UPDATE SKIP LOCKED and writes its lease in
-- the same statement, so two replicas never hold one endpoint.
CREATE TABLE webhook_endpoints (
    id                         text COLLATE "C" NOT NULL,
    workspace_id               text COLLATE "C" NOT NULL,
    url                        text        NOT NULL,
    description                text        NOT NULL,
    event_types                text[]      NOT NULL,
    enabled                    boolean     NOT NULL,
    disabled_reason            text        NOT NULL DEFAULT '',
    secret                     text        NOT NULL,
    previous_secret            text        NOT NULL DEFAULT '',
    previous_secret_expires_at timestamptz,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    version                    bigint      NOT NULL,
    delivered_seq              bigint      NOT NULL,
    failed_attempts            integer     NOT NULL DEFAULT 0,
    next_attempt_at            timestamptz,
    lease_owner                text        NOT NULL DEFAULT '',
    lease_expires_at           timestamptz,
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_endpoints_workspace_fkey FOREIGN KEY (workspace_id)
        REFERENCES workspaces (id) ON DELETE CASCADE
);

CREATE INDEX webhook_endpoints_by_workspace ON webhook_endpoints (workspace_id, created_at, id);

-- The claim reads the enabled endpoints only.
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints (workspace_id) WHERE enabled;

-- created_at is when the attempt was made (WebhookDelivery.AttemptedAt):
-- the list's order, newest first. duration is in microseconds.
CREATE TABLE webhook_deliveries (
    id               text COLLATE "C" NOT NULL,
    workspace_id     text COLLATE "C" NOT NULL,
    endpoint_id      text COLLATE "C" NOT NULL,
    event_id         text        NOT NULL,
    event_seq        bigint      NOT NULL,
    event_type       text        NOT NULL,
    attempt          integer     NOT NULL,
    created_at       timestamptz NOT NULL,
    status_code      integer     NOT NULL,
    duration         bigint      NOT NULL,
    response_excerpt text        NOT NULL,
    error            text        NOT NULL,
    succeeded        boolean     NOT NULL,
    next_retry_at    timestamptz,
    manual           boolean     NOT NULL,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (endpoint_id)
        REFERENCES webhook_endpoints (id) ON DELETE CASCADE
);

CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at, id);

-- Pruning deletes the oldest attempts first, with the events' retention.
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (created_at);
