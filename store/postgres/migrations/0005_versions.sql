-- Every project and task carries a version: 1 when created, one more with
-- every update, in the update's own transaction (see store.Project.Version).
-- It is the API's ETag: updated_at has whole seconds on the wire, so it
-- cannot tell two edits of one second apart, and the version can. Rows that
-- exist before this migration start at 1, as if just created. bigint, as
-- Go's int64: a constant default adds the column without rewriting the table
-- (PostgreSQL 11 and later).

ALTER TABLE projects ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE tasks ADD COLUMN version bigint NOT NULL DEFAULT 1;
