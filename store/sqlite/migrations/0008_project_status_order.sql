-- Issue 12's write costs. (0007 is the event log's.)
--
-- 1. A project's tasks of one status, newest first: the list filtered by
-- project and status walks this index in the default order and stops after
-- the page, where without it SQLite walked the project's index and read every
-- row to test its status (about 3 rows for each one kept, more the rarer the
-- status). Other orders with both filters still walk the project's index of
-- that order and test the status row by row.

CREATE INDEX tasks_by_project_status ON tasks (workspace_id, project_id, status, created_at DESC, id DESC);

-- 2. A new task's text reaches the search index once per commit, not once per
-- write. FTS5 writes its pending text out as a new segment at every
-- savepoint, and the group committer opens one for every write: each
-- created task became a segment of its own, and the merges of those
-- segments were a fifth of a create's cost. Now the insert trigger queues the
-- task's rowid, and the store indexes the queued rows' current text once,
-- just before the group commit's COMMIT (store/sqlite's indexQueued, the
-- engine's BeforeCommit), in the same transaction: a search never sees a
-- committed task missing. A queued row is not in the index yet, so its
-- update or delete only unqueues it or leaves it queued; a row already
-- indexed is re-indexed or removed at once, as before. The queue is empty
-- at every commit.

CREATE TABLE tasks_fts_queue (task_rowid INTEGER PRIMARY KEY) STRICT;

DROP TRIGGER tasks_fts_insert;
CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_fts_queue (task_rowid) VALUES (new.rowid);
END;

-- Also fired by the cascade from projects.
DROP TRIGGER tasks_fts_delete;
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, description)
        SELECT 'delete', old.rowid, old.title, old.description
        WHERE NOT EXISTS (SELECT 1 FROM tasks_fts_queue WHERE task_rowid = old.rowid);
    DELETE FROM tasks_fts_queue WHERE task_rowid = old.rowid;
END;

DROP TRIGGER tasks_fts_update;
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, description ON tasks
WHEN (old.title IS NOT new.title OR old.description IS NOT new.description)
    AND NOT EXISTS (SELECT 1 FROM tasks_fts_queue WHERE task_rowid = old.rowid) BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO tasks_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;
