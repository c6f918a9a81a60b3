-- Idempotency-Key records (see store.IdempotencyKey): one per key and
-- workspace; completed_at (and response) are NULL while the first request
-- runs.

CREATE TABLE idempotency_keys (
    workspace_id text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    fingerprint  bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    response     bytea,
    completed_at timestamptz,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (workspace_id, key),
    CONSTRAINT idempotency_keys_workspace_fkey FOREIGN KEY (workspace_id)
        REFERENCES workspaces (id) ON DELETE CASCADE
);

-- Expired records are purged by workspace and age.
CREATE INDEX idempotency_keys_age_idx ON idempotency_keys (workspace_id, created_at);
