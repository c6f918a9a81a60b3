-- Lists in every order, keyset-paged, and search (the lists issue).
--
-- Every order a list offers is answered by an index on (workspace_id, key, id)
-- — and (workspace_id, project_id, key, id) for a project's tasks — walked in
-- either direction, so that the page after a position costs the same at any
-- depth. created_at has its indexes since 0001.

CREATE INDEX tasks_by_updated ON tasks (workspace_id, updated_at, id);
CREATE INDEX tasks_by_due ON tasks (workspace_id, due_at, id);
CREATE INDEX tasks_by_project_updated ON tasks (workspace_id, project_id, updated_at, id);
CREATE INDEX tasks_by_project_due ON tasks (workspace_id, project_id, due_at, id);
CREATE INDEX projects_by_updated ON projects (workspace_id, updated_at, id);

-- Search: FTS5 with the trigram tokenizer, case-insensitive. A quoted phrase
-- of three or more characters then matches exactly the rows in one of whose
-- columns it occurs, ignoring case: the semantics of PostgreSQL's
-- ILIKE '%text%' over pg_trgm, so that both stores answer a search alike.
-- External content: the text stays in tasks and projects; the index is kept
-- by the triggers below, keyed on the tables' rowids. A VACUUM may renumber
-- the rowids of a table without an INTEGER PRIMARY KEY: after one, rebuild
-- both indexes (INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild'), and
-- the same for projects_fts). Nothing in the server runs VACUUM.

CREATE VIRTUAL TABLE tasks_fts USING fts5(
    title, description,
    content = 'tasks', content_rowid = 'rowid',
    tokenize = 'trigram case_sensitive 0'
);

CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;

-- Also fired by the cascade from projects.
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
END;

-- Only when the text changes: a status change costs the index nothing.
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, description ON tasks
WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO tasks_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;

INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild');

CREATE VIRTUAL TABLE projects_fts USING fts5(
    name, description,
    content = 'projects', content_rowid = 'rowid',
    tokenize = 'trigram case_sensitive 0'
);

CREATE TRIGGER projects_fts_insert AFTER INSERT ON projects BEGIN
    INSERT INTO projects_fts (rowid, name, description) VALUES (new.rowid, new.name, new.description);
END;

CREATE TRIGGER projects_fts_delete AFTER DELETE ON projects BEGIN
    INSERT INTO projects_fts (projects_fts, rowid, name, description)
        VALUES ('delete', old.rowid, old.name, old.description);
END;

CREATE TRIGGER projects_fts_update AFTER UPDATE OF name, description ON projects
WHEN old.name IS NOT new.name OR old.description IS NOT new.description BEGIN
    INSERT INTO projects_fts (projects_fts, rowid, name, description)
        VALUES ('delete', old.rowid, old.name, old.description);
    INSERT INTO projects_fts (rowid, name, description) VALUES (new.rowid, new.name, new.description);
END;

INSERT INTO projects_fts (projects_fts) VALUES ('rebuild');
