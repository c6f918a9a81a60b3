-- Lists in every order, keyset-paged, and search (the lists issue).
--
-- Every order a list offers is answered by an index on (workspace_id, key, id)
-- — and (workspace_id, project_id, key, id) for a project's tasks — walked in
-- either direction, so that the page after a position costs the same at any
-- depth. created_at has its indexes since 0001.

CREATE INDEX tasks_updated_list_idx ON tasks (workspace_id, updated_at, id);
CREATE INDEX tasks_due_list_idx ON tasks (workspace_id, due_at, id);
CREATE INDEX tasks_project_updated_list_idx ON tasks (workspace_id, project_id, updated_at, id);
CREATE INDEX tasks_project_due_list_idx ON tasks (workspace_id, project_id, due_at, id);
CREATE INDEX projects_updated_list_idx ON projects (workspace_id, updated_at, id);

-- Search: ILIKE '%text%' on each text column, served by pg_trgm's GIN
-- indexes. Trigrams rather than full-text search (tsvector) because a
-- search is a case-insensitive substring, as in SQLite's trigram FTS5 table:
-- the same text finds the same rows on both stores, where tsvector would
-- match stemmed words ("run" finding "running", "ru" finding nothing) and
-- SQLite could not follow. A text of fewer than three characters has no
-- trigram; the API refuses it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX tasks_title_trgm_idx ON tasks USING gin (title gin_trgm_ops);
CREATE INDEX tasks_description_trgm_idx ON tasks USING gin (description gin_trgm_ops);
CREATE INDEX projects_name_trgm_idx ON projects USING gin (name gin_trgm_ops);
CREATE INDEX projects_description_trgm_idx ON projects USING gin (description gin_trgm_ops);
