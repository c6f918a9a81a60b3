-- Counters behind every total the API reports, so that pagination.total is
-- one row read whatever the size of the workspace. The store keeps them in
-- the same transaction as the rows they count (see counts.go), with
-- row-level upserts taken in one order, (project_id, status) in "C"
-- collation, so that concurrent writers never deadlock on them.
--
-- task_counts holds one row per (workspace, project, status) and rollups in
-- which '' stands for "any": (ws, p, '') counts a project's tasks,
-- (ws, '', s) a status across the workspace, (ws, '', '') every task of the
-- workspace. A row's own project id and status are written after a '='
-- ('=proj_…', '=todo'), so that none, not even an empty status, is ''.
-- No foreign keys: a counter row is only ever touched after the rows it
-- counts, and a foreign key would add a lock on the parent to every write.
CREATE TABLE task_counts (
    workspace_id text COLLATE "C" NOT NULL,
    project_id   text COLLATE "C" NOT NULL,
    status       text COLLATE "C" NOT NULL,
    n            bigint NOT NULL,
    CONSTRAINT task_counts_pkey PRIMARY KEY (workspace_id, project_id, status)
);

-- A workspace's projects and API keys (revoked ones included, as listed).
CREATE TABLE workspace_counts (
    workspace_id text COLLATE "C" NOT NULL,
    projects     bigint NOT NULL,
    api_keys     bigint NOT NULL,
    CONSTRAINT workspace_counts_pkey PRIMARY KEY (workspace_id)
);

-- Backfill from the rows already stored. The migration runs under the
-- migration lock but not under a table lock: take one, so that no write of
-- an older replica slips between the count and the end of the migration.
LOCK TABLE workspaces, projects, tasks, api_keys IN SHARE MODE;

INSERT INTO task_counts (workspace_id, project_id, status, n)
    SELECT workspace_id, '=' || project_id, '=' || status, count(*) FROM tasks GROUP BY workspace_id, project_id, status
    UNION ALL
    SELECT workspace_id, '=' || project_id, '', count(*) FROM tasks GROUP BY workspace_id, project_id
    UNION ALL
    SELECT workspace_id, '', '=' || status, count(*) FROM tasks GROUP BY workspace_id, status
    UNION ALL
    SELECT workspace_id, '', '', count(*) FROM tasks GROUP BY workspace_id;

INSERT INTO workspace_counts (workspace_id, projects, api_keys)
    SELECT w.id,
           (SELECT count(*) FROM projects p WHERE p.workspace_id = w.id),
           (SELECT count(*) FROM api_keys k WHERE k.workspace_id = w.id)
    FROM workspaces w;
