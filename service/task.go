package service

import (
	"context"
	"errors"

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
func projectNotFound(err error) error {
	var nf *store.NotFoundError
	if errors.As(err, &nf) && nf.Resource == "project" {
		return apierror.New(apierror.CodeNotFound, "Project not found", map[string]string{"field": "project_id"})
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
	if req.ProjectId == "" {
		return nil, apierror.Validation("project_id", "Project ID is required")
	}
	title, err := textfield.Required("title", "Title", req.Title, maxTitleLength)
	if err != nil {
		return nil, err
	}
	if err := textfield.Optional("description", "Description", req.Description, maxDescriptionLength); err != nil {
		return nil, err
	}
	status := req.Status
	if status == "" {
		status = statusTodo
	}
	if err := checkStatus("status", status); err != nil {
		return nil, err
	}
	if err := req.DueAt.CheckValid(); req.DueAt != nil && err != nil {
		return nil, apierror.Validation("due_at", "due_at must be a valid RFC 3339 time")
	}
	if err := knownID("project", req.ProjectId); err != nil {
		return nil, projectNotFound(err)
	}
	now := s.now()
	t := store.Task{
		ID:          ids.New(ids.Task),
		WorkspaceID: p.WorkspaceID,
		ProjectID:   req.ProjectId,
		Title:       title,
		Description: req.Description,
		Status:      status,
		DueAt:       timePtr(req.DueAt),
		CreatedAt:   now,
		UpdatedAt:   now,
		Version:     1, // what the store stores for a new record
	}
	if status == statusCompleted {
		t.CompletedAt = &now
	}
	if err := s.Store.CreateTask(ctx, t); err != nil {
		return nil, projectNotFound(err)
	}
	return &workspacev1.CreateTaskResponse{Task: taskPB(t)}, nil
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
