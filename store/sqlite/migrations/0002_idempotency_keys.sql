-- Idempotency-Key records (see store.IdempotencyKey): one per key and
-- workspace; completed_at (and response) are NULL while the first request
-- runs.

CREATE TABLE idempotency_keys (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key          TEXT    NOT NULL,
    fingerprint  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    response     BLOB,
    completed_at INTEGER,
    PRIMARY KEY (workspace_id, key)
) STRICT;

-- Expired records are purged by workspace and age.
CREATE INDEX idempotency_keys_age ON idempotency_keys (workspace_id, created_at);
