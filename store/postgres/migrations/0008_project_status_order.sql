-- A project's tasks of one status, newest first (issue 12): the list
-- filtered by project and status walks this index in the default order and
-- stops after the page, where without it the planner walked the project's
-- index and filtered each row by its status (about 3 rows for each one kept,
-- more the rarer the status). Other orders with both filters still walk the
-- project's index of that order and filter by status.
-- (0007 is the event log's.)

CREATE INDEX tasks_project_status_list_idx ON tasks (workspace_id, project_id, status, created_at DESC, id DESC);
