package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/service/textfield"
	"github.com/example/workspace/store"
)

type tasks struct {
	workspacev1.UnimplementedTaskServiceServer
	Deps
}

// projectNotFound names the field when a task refers to a project the workspace
// does not have; the answer is the same for a foreign id and a random one.
func projectNotFound(err error) error { return projectNotFoundAt(err, "project_id") }

// projectNotFoundAt is projectNotFound naming field: "tasks[3].project_id"
// for an item of a batch.
func projectNotFoundAt(err error, field string) error {
	var nf *store.NotFoundError
	if errors.As(err, &nf) && nf.Resource == "project" {
		return apierror.New(apierror.CodeNotFound, "Project not found", map[string]string{"field": field})
	}
	return apierror.From(err)
}

func (s *tasks) ListTasks(ctx context.Context, req *workspacev1.ListTasksRequest) (*workspacev1.ListTasksResponse, error) {
	filter, filterKey, err := taskFilter(req)
	if err != nil {
		return nil, err
	}
	list := func(ctx context.Context, workspaceID string, pg store.Page) ([]store.Task, int, error) {
		// Here, after the page is checked, where the store would have
		// answered NotFound for an unknown project.
		if filter.ProjectID != "" {
			if err := knownID("project", filter.ProjectID); err != nil {
				return nil, 0, err
			}
		}
		return s.Store.ListTasks(ctx, workspaceID, filter, pg)
	}
	lr := listRequest{limit: req.Limit, offset: req.Offset, pageToken: req.PageToken, orderBy: req.OrderBy}
	data, pg, next, err := listPage(ctx, lr, taskList, filterKey, list, taskPB)
	if err != nil {
		return nil, projectNotFound(err)
	}
	return &workspacev1.ListTasksResponse{Data: data, Pagination: pg, NextPageToken: next}, nil
}

func (s *tasks) CreateTask(ctx context.Context, req *workspacev1.CreateTaskRequest) (*workspacev1.CreateTaskResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := newTask(p.WorkspaceID, req, "", s.now())
	if err != nil {
		return nil, err
	}
	if err := knownID("project", req.ProjectId); err != nil {
		return nil, projectNotFound(err)
	}
	if err := s.Store.CreateTask(ctx, t); err != nil {
		return nil, projectNotFound(err)
	}
	return &workspacev1.CreateTaskResponse{Task: taskPB(t)}, nil
}

// maxBatchTasks is how many tasks one BatchCreateTasks may create: enough to
// import in few requests, small enough that one request's transaction stays
// short (and 100 tasks at their longest fit the body limit only just: a
// batch of long descriptions is a 413 before it is a 400).
const maxBatchTasks = 100

// BatchCreateTasks checks every item by CreateTask's rules, in CreateTask's
// order (the fields of every item, then every item's project, the store's
// question), and stores them in one transaction. Of several bad items the
// first is named; a bad field (400) is reported before a missing project
// (404) wherever they are.
func (s *tasks) BatchCreateTasks(ctx context.Context, req *workspacev1.BatchCreateTasksRequest) (*workspacev1.BatchCreateTasksResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	items := req.GetTasks()
	if len(items) == 0 || len(items) > maxBatchTasks {
		return nil, apierror.Validation("tasks", fmt.Sprintf("tasks must hold 1 to %d tasks, not %d", maxBatchTasks, len(items)))
	}
	now := s.now()
	batch := make([]store.Task, len(items))
	for i, item := range items {
		// One microsecond apart, in the order given: lists (newest first)
		// then show the batch as if its tasks had been created one by one,
		// rather than in the order of their random ids.
		if batch[i], err = newTask(p.WorkspaceID, item, itemPrefix(i), now.Add(time.Duration(i)*time.Microsecond)); err != nil {
			return nil, inItem(i, err)
		}
	}
	for i, item := range items {
		if knownID("project", item.GetProjectId()) != nil {
			// An id that names no project fails its item as a missing
			// project does. It goes to the store blank (PostgreSQL's text
			// cannot hold every such id: a NUL), which refuses it as it
			// refuses a foreign one, so that the store names the first item
			// whose project is missing, this one or an earlier one.
			batch[i].ProjectID = ""
		}
	}
	if err := s.Store.CreateTasks(ctx, batch); err != nil {
		var bad *store.BatchItemError
		if errors.As(err, &bad) {
			return nil, inItem(bad.Index, projectNotFoundAt(bad.Err, itemPrefix(bad.Index)+"project_id"))
		}
		return nil, apierror.From(err)
	}
	out := make([]*workspacev1.Task, len(batch))
	for i, t := range batch {
		out[i] = taskPB(t)
	}
	return &workspacev1.BatchCreateTasksResponse{Tasks: out}, nil
}

// itemPrefix is how the fields of item i of a batch are named:
// "tasks[3].title" (AIP-193's field paths).
func itemPrefix(i int) string { return "tasks[" + strconv.Itoa(i) + "]." }

// inItem says in the message of an item's error which item it is, for the
// reader of a log; details.field names it for code.
func inItem(i int, err error) error {
	if e, ok := apierror.As(err); ok && e.Details["field"] != "" {
		return apierror.New(e.Code, "tasks["+strconv.Itoa(i)+"]: "+e.Message, e.Details)
	}
	return err
}

// newTask is the one reading of a CreateTaskRequest, for CreateTask and every
// item of BatchCreateTasks: the fields checked by CONTRACT §3's rules, each
// error naming its field after prefix ("" or "tasks[3]."), and the task to
// store, created at now. Whether its project exists is the caller's next
// question (knownID, then the store).
func newTask(workspaceID string, req *workspacev1.CreateTaskRequest, prefix string, now time.Time) (store.Task, error) {
	if req.GetProjectId() == "" {
		return store.Task{}, apierror.Validation(prefix+"project_id", "Project ID is required")
	}
	title, err := textfield.Required(prefix+"title", "Title", req.GetTitle(), maxTitleLength)
	if err != nil {
		return store.Task{}, err
	}
	if err := textfield.Optional(prefix+"description", "Description", req.GetDescription(), maxDescriptionLength); err != nil {
		return store.Task{}, err
	}
	status := req.GetStatus()
	if status == "" {
		status = statusTodo
	}
	if err := checkStatus(prefix+"status", status); err != nil {
		return store.Task{}, err
	}
	if err := req.GetDueAt().CheckValid(); req.GetDueAt() != nil && err != nil {
		return store.Task{}, apierror.Validation(prefix+"due_at", "due_at must be a valid RFC 3339 time")
	}
	t := store.Task{
		ID:          ids.New(ids.Task),
		WorkspaceID: workspaceID,
		ProjectID:   req.GetProjectId(),
		Title:       title,
		Description: req.GetDescription(),
		Status:      status,
		DueAt:       timePtr(req.GetDueAt()),
		CreatedAt:   now,
		UpdatedAt:   now,
		Version:     1, // what the store stores for a new record
	}
	if status == statusCompleted {
		t.CompletedAt = &now
	}
	return t, nil
}

func (s *tasks) GetTask(ctx context.Context, req *workspacev1.GetTaskRequest) (*workspacev1.GetTaskResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("task", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	t, err := s.Store.GetTask(ctx, p.WorkspaceID, req.Id)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.GetTaskResponse{Task: taskPB(t)}, nil
}

func (s *tasks) UpdateTask(ctx context.Context, req *workspacev1.UpdateTaskRequest) (*workspacev1.UpdateTaskResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	u := req.GetTask()
	if u == nil {
		u = &workspacev1.TaskUpdate{}
	}
	paths, err := updatePaths(req.GetUpdateMask().GetPaths(), presence(u),
		"project_id", "title", "description", "status", "due_at")
	if err != nil {
		return nil, err
	}
	var title string
	if paths["project_id"] && u.GetProjectId() == "" {
		return nil, apierror.Validation("project_id", "Project ID is required")
	}
	if paths["title"] {
		if title, err = textfield.Required("title", "Title", u.GetTitle(), maxTitleLength); err != nil {
			return nil, err
		}
	}
	if paths["description"] {
		if err := textfield.Optional("description", "Description", u.GetDescription(), maxDescriptionLength); err != nil {
			return nil, err
		}
	}
	if paths["status"] {
		if err := checkStatus("status", u.GetStatus()); err != nil {
			return nil, err
		}
	}
	if paths["due_at"] && u.DueAt != nil {
		if err := u.DueAt.CheckValid(); err != nil {
			return nil, apierror.Validation("due_at", "due_at must be a valid RFC 3339 time")
		}
	}
	// In the store's order: the task is looked up before its new project.
	if err := knownID("task", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	if paths["project_id"] {
		if err := knownID("project", u.GetProjectId()); err != nil {
			return nil, projectNotFound(err)
		}
	}
	check, err := precondition(ctx, req.Etag, "task")
	if err != nil {
		return nil, err
	}
	now := s.now()
	t, err := s.Store.UpdateTask(ctx, p.WorkspaceID, req.Id, func(t *store.Task) error {
		if check != nil {
			if err := check(t.Version); err != nil {
				return err
			}
		}
		if paths["project_id"] {
			t.ProjectID = u.GetProjectId()
		}
		if paths["title"] {
			t.Title = title
		}
		if paths["description"] {
			t.Description = u.GetDescription()
		}
		if paths["due_at"] {
			t.DueAt = timePtr(u.DueAt)
		}
		if paths["status"] {
			// completed_at follows status: set when it becomes completed (kept if
			// it already was), cleared when it leaves it.
			switch next := u.GetStatus(); {
			case next == statusCompleted && t.Status != statusCompleted:
				t.CompletedAt = &now
			case next != statusCompleted:
				t.CompletedAt = nil
			}
			t.Status = u.GetStatus()
		}
		t.UpdatedAt = now
		return nil
	})
	if err != nil {
		return nil, projectNotFound(err)
	}
	return &workspacev1.UpdateTaskResponse{Task: taskPB(t)}, nil
}

func (s *tasks) DeleteTask(ctx context.Context, req *workspacev1.DeleteTaskRequest) (*workspacev1.DeleteTaskResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("task", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	check, err := precondition(ctx, req.Etag, "task")
	if err != nil {
		return nil, err
	}
	if check == nil {
		err = s.Store.DeleteTask(ctx, p.WorkspaceID, req.Id)
	} else {
		err = s.Store.DeleteTaskIf(ctx, p.WorkspaceID, req.Id, func(t store.Task) error { return check(t.Version) })
	}
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.DeleteTaskResponse{Id: req.Id, Deleted: true}, nil
}
