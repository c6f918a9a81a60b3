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

-- Pruning by age deletes the oldest events of every workspace first.
CREATE INDEX events_by_age ON events (created_at);

-- Where each workspace's log stands: the last seq appended, and the seq
-- through which its events were pruned. A table of its own, not columns of
-- workspaces: every write updates it, and the workspaces row is what every
-- authenticated request reads (LookupAPIKey's join); on PostgreSQL the row
-- lock that orders a workspace's writers then never meets a plan change or
-- a key lookup. A workspace without a row is at seq 0, unpruned: the
-- workspaces that exist before this migration start there.
CREATE TABLE event_heads (
    workspace_id TEXT    NOT NULL PRIMARY KEY,
    last_seq     INTEGER NOT NULL,
    pruned_seq   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
