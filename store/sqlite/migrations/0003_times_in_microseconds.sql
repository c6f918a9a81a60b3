-- Times become INTEGER unix microseconds in UTC (they were nanoseconds, which
-- an int64 holds only from 1677 to 2262): microseconds cover every time
-- RFC 3339 can write, years 0001 to 9999, and are PostgreSQL's precision.
-- Each value is divided rounding down, as Go's UnixMicro does, so the order
-- of any two values is kept (equal ones stay equal) and with it every
-- index's order; the indexes are updated with their rows. NULL stays NULL.
-- schema_migrations.applied_at is the migrator's own and stays nanoseconds.

UPDATE workspaces SET
    created_at = created_at / 1000 - (created_at % 1000 < 0);

UPDATE projects SET
    created_at = created_at / 1000 - (created_at % 1000 < 0),
    updated_at = updated_at / 1000 - (updated_at % 1000 < 0);

UPDATE tasks SET
    due_at       = due_at / 1000 - (due_at % 1000 < 0),
    completed_at = completed_at / 1000 - (completed_at % 1000 < 0),
    created_at   = created_at / 1000 - (created_at % 1000 < 0),
    updated_at   = updated_at / 1000 - (updated_at % 1000 < 0);

UPDATE api_keys SET
    created_at   = created_at / 1000 - (created_at % 1000 < 0),
    last_used_at = last_used_at / 1000 - (last_used_at % 1000 < 0),
    expires_at   = expires_at / 1000 - (expires_at % 1000 < 0),
    revoked_at   = revoked_at / 1000 - (revoked_at % 1000 < 0);

UPDATE idempotency_keys SET
    created_at   = created_at / 1000 - (created_at % 1000 < 0),
    completed_at = completed_at / 1000 - (completed_at % 1000 < 0);
