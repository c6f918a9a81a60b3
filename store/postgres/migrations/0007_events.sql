-- The event log (issue 13): every write appends one row per record it
-- changes, in its own transaction (see events.go).
--
-- events holds a workspace's log in (workspace_id, seq) order, its primary
-- key: the list reads it in that order, after a seq. request_id and key_id
-- are '' for a write without an origin (the CLI). data and previous are
-- store/internal/eventdata's JSON in bytea, the same bytes as on SQLite
-- (jsonb would reorder and respace them).
CREATE TABLE events (
    workspace_id text COLLATE "C" NOT NULL,
    seq          bigint      NOT NULL,
    id           text COLLATE "C" NOT NULL,
    type         text        NOT NULL,
    created_at   timestamptz NOT NULL,
    request_id   text        NOT NULL DEFAULT '',
    key_id       text        NOT NULL DEFAULT '',
    data         bytea       NOT NULL,
    previous     bytea,
    CONSTRAINT events_pkey PRIMARY KEY (workspace_id, seq)
);

-- Pruning by age deletes the oldest events of every workspace first.
CREATE INDEX events_by_age ON events (created_at);

-- Where each workspace's log stands: the last seq appended, and the seq
-- through which its events were pruned. Every write updates its
-- workspace's row in its own transaction, and that row's lock orders the
-- writers of one workspace, on every replica: a writer takes its numbers
-- only once the one before it has committed. A table of its own, not
-- columns of workspaces: the workspaces row is what every authenticated
-- request reads (LookupAPIKey's join), and a plan change must not wait for
-- a write's commit. A workspace without a row is at seq 0, unpruned: the
-- workspaces that exist before this migration start there.
CREATE TABLE event_heads (
    workspace_id text COLLATE "C" NOT NULL,
    last_seq     bigint NOT NULL,
    pruned_seq   bigint NOT NULL,
    CONSTRAINT event_heads_pkey PRIMARY KEY (workspace_id)
);
