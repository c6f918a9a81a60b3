-- The event log (issue 13): every write appends one row per record it
-- changes, in its own transaction (see events.go).
--
-- events holds a workspace's log in (workspace_id, seq) order, its primary
-- key: the list reads it in that order, after a seq. A rowid table, not
-- WITHOUT ROWID: an event's data is a few hundred bytes, too large a row
-- for a clustered index's pages. created_at is unix microseconds, as every
-- time here; request_id and key_id are '' for a write without an origin (the
-- CLI). data and previous are store/internal/eventdata's JSON, the same
-- bytes as on PostgreSQL.
CREATE TABLE events (
    workspace_id TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    id           TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    request_id   TEXT    NOT NULL DEFAULT '',
    key_id       TEXT    NOT NULL DEFAULT '',
    data         BLOB    NOT NULL,
    previous     BLOB,
    PRIMARY KEY (workspace_id, seq)
) STRICT;

-- No index on created_at: pruning deletes a prefix in rowid order, which is
-- commit order (the single writer appends each event at the largest rowid
-- plus one), and so also each workspace's seq order; an index more would
-- cost every write a third b-tree insert.

-- The seq through which each workspace's events were pruned; no row is none.
-- A write takes its numbers after the workspace's largest stored seq (one
-- seek of the primary key) or, when pruning left none, after pruned_seq: so
-- a write updates no row here, only PruneEvents does. Not columns of
-- workspaces, which every authenticated request reads (LookupAPIKey's
-- join). The workspaces that exist before this migration start at seq 0.
CREATE TABLE event_heads (
    workspace_id TEXT    NOT NULL PRIMARY KEY,
    pruned_seq   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
