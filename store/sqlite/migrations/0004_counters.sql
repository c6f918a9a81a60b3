-- Counters behind every total the API reports, so that pagination.total is
-- one row read whatever the size of the workspace. The store keeps them in
-- the same write transaction as the rows they count (see counts.go).
--
-- task_counts holds one row per (workspace, project, status) and rollups in
-- which '' stands for "any": (ws, p, '') counts a project's tasks,
-- (ws, '', s) a status across the workspace, (ws, '', '') every task of the
-- workspace. A row's own project id and status are written after a '='
-- ('=proj_…', '=todo'), so that none, not even an empty status, is ''.
CREATE TABLE task_counts (
    workspace_id TEXT    NOT NULL,
    project_id   TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, project_id, status)
) STRICT, WITHOUT ROWID;

-- A workspace's projects and API keys (revoked ones included, as listed).
CREATE TABLE workspace_counts (
    workspace_id TEXT    NOT NULL PRIMARY KEY,
    projects     INTEGER NOT NULL,
    api_keys     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Backfill from the rows already stored.
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
