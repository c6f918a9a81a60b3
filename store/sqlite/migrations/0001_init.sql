-- Times are INTEGER unix nanoseconds in UTC; NULL stands for a nil *time.Time.
-- STRICT makes SQLite reject a value of the wrong type instead of storing it.

CREATE TABLE workspaces (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    plan       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE projects (
    id           TEXT    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    -- The parent key of the tasks' composite foreign key.
    UNIQUE (workspace_id, id)
) STRICT;

CREATE INDEX projects_list ON projects (workspace_id, created_at DESC, id DESC);

CREATE TABLE tasks (
    id           TEXT    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL,
    project_id   TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    due_at       INTEGER,
    completed_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    -- Keyed on the workspace too, so a task can never point at a project of
    -- another workspace, whatever the code above does.
    FOREIGN KEY (workspace_id, project_id) REFERENCES projects (workspace_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX tasks_list ON tasks (workspace_id, created_at DESC, id DESC);
-- Also the child index of the foreign key, which the cascade needs to avoid a
-- full scan of tasks on every project deletion.
CREATE INDEX tasks_by_project ON tasks (workspace_id, project_id, created_at DESC, id DESC);
CREATE INDEX tasks_by_status ON tasks (workspace_id, status, created_at DESC, id DESC);

CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    name         TEXT    NOT NULL,
    -- A JSON array, so that no scope value needs escaping and nil and empty
    -- lists stay apart.
    scopes       TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX api_keys_list ON api_keys (workspace_id, created_at DESC, id DESC);
