-- Initial schema of the Workspace API.
--
-- Constraint names are spelled out because the Go code maps violations to
-- domain errors by name (see errors.go).

CREATE TABLE workspaces (
    id         text COLLATE "C" NOT NULL,
    name       text        NOT NULL,
    plan       text        NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT workspaces_pkey PRIMARY KEY (id)
);

CREATE TABLE projects (
    id           text COLLATE "C" NOT NULL,
    workspace_id text COLLATE "C" NOT NULL,
    name         text        NOT NULL,
    description  text        NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT projects_pkey PRIMARY KEY (id),
    -- Target of the tasks' composite foreign key, and the index for lookups
    -- by (workspace_id, id).
    CONSTRAINT projects_workspace_id_id_key UNIQUE (workspace_id, id),
    CONSTRAINT projects_workspace_fkey FOREIGN KEY (workspace_id)
        REFERENCES workspaces (id) ON DELETE CASCADE
);

CREATE INDEX projects_list_idx ON projects (workspace_id, created_at DESC, id DESC);

CREATE TABLE tasks (
    id           text COLLATE "C" NOT NULL,
    workspace_id text COLLATE "C" NOT NULL,
    project_id   text COLLATE "C" NOT NULL,
    title        text        NOT NULL,
    description  text        NOT NULL,
    status       text        NOT NULL,
    due_at       timestamptz,
    completed_at timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT tasks_pkey PRIMARY KEY (id),
    -- One composite key instead of separate keys to workspaces and projects:
    -- it makes a task whose project lives in another workspace impossible,
    -- and it is the only foreign key, so every violation means "project".
    CONSTRAINT tasks_project_fkey FOREIGN KEY (workspace_id, project_id)
        REFERENCES projects (workspace_id, id) ON DELETE CASCADE
);

CREATE INDEX tasks_list_idx ON tasks (workspace_id, created_at DESC, id DESC);
-- Also serves the cascade from projects, which looks tasks up by
-- (workspace_id, project_id).
CREATE INDEX tasks_project_list_idx ON tasks (workspace_id, project_id, created_at DESC, id DESC);
CREATE INDEX tasks_status_list_idx ON tasks (workspace_id, status, created_at DESC, id DESC);

CREATE TABLE api_keys (
    id           text COLLATE "C" NOT NULL,
    workspace_id text COLLATE "C" NOT NULL,
    name         text        NOT NULL,
    -- NULL keeps a nil slice apart from an empty one on the way back.
    scopes       text[],
    prefix       text        NOT NULL,
    hash         bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_hash_key UNIQUE (hash),
    CONSTRAINT api_keys_workspace_fkey FOREIGN KEY (workspace_id)
        REFERENCES workspaces (id) ON DELETE CASCADE
);

CREATE INDEX api_keys_list_idx ON api_keys (workspace_id, created_at DESC, id DESC);
