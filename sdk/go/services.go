package sdk

import (
	"context"
	"iter"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// pages yields every item of a list, fetching pageSize at a time (0: the
// server's default), until has_more is false or the caller stops.
func pages[T any](ctx context.Context, pageSize int, fetch func(ctx context.Context, limit, offset *int32) ([]T, *Pagination, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var limit *int32
		if pageSize > 0 {
			limit = proto.Int32(int32(pageSize))
		}
		offset := int32(0)
		for {
			items, page, err := fetch(ctx, limit, proto.Int32(offset))
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !page.GetHasMore() || len(items) == 0 {
				return
			}
			offset += int32(len(items))
		}
	}
}

// ListOptions selects one page of a list.
type ListOptions struct {
	Limit  int // 1–100; 0: the server's default, 20
	Offset int
}

func (o *ListOptions) limit() *int32 {
	if o == nil || o.Limit == 0 {
		return nil
	}
	return proto.Int32(int32(o.Limit))
}

func (o *ListOptions) offset() *int32 {
	if o == nil || o.Offset == 0 {
		return nil
	}
	return proto.Int32(int32(o.Offset))
}

// ProjectsService is /v1/projects.
type ProjectsService struct {
	rpc workspacev1.ProjectServiceClient
}

// List returns one page of projects, newest first.
func (s *ProjectsService) List(ctx context.Context, opts *ListOptions) ([]*Project, *Pagination, error) {
	r, err := s.rpc.ListProjects(ctx, &workspacev1.ListProjectsRequest{Limit: opts.limit(), Offset: opts.offset()})
	return r.GetData(), r.GetPagination(), err
}

// All iterates over every project, pageSize at a time (0: 20).
func (s *ProjectsService) All(ctx context.Context, pageSize int) iter.Seq2[*Project, error] {
	return pages(ctx, pageSize, func(ctx context.Context, limit, offset *int32) ([]*Project, *Pagination, error) {
		r, err := s.rpc.ListProjects(ctx, &workspacev1.ListProjectsRequest{Limit: limit, Offset: offset})
		return r.GetData(), r.GetPagination(), err
	})
}

// Create makes a project.
func (s *ProjectsService) Create(ctx context.Context, name, description string) (*Project, error) {
	r, err := s.rpc.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: name, Description: description})
	return r.GetProject(), err
}

// Get returns one project.
func (s *ProjectsService) Get(ctx context.Context, id string) (*Project, error) {
	r, err := s.rpc.GetProject(ctx, &workspacev1.GetProjectRequest{Id: id})
	return r.GetProject(), err
}

// Update changes the fields set in u and leaves the others alone.
func (s *ProjectsService) Update(ctx context.Context, id string, u *ProjectUpdate) (*Project, error) {
	r, err := s.rpc.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: id, Project: u})
	return r.GetProject(), err
}

// Delete deletes a project and its tasks.
func (s *ProjectsService) Delete(ctx context.Context, id string) error {
	_, err := s.rpc.DeleteProject(ctx, &workspacev1.DeleteProjectRequest{Id: id})
	return err
}

// TasksService is /v1/tasks.
type TasksService struct{ rpc workspacev1.TaskServiceClient }

// TaskFilter narrows a list of tasks.
type TaskFilter struct {
	ProjectID string // only this project's tasks
	Status    string // only tasks with this status: "todo", "in_progress", "completed"
}

// List returns one page of tasks, newest first.
func (s *TasksService) List(ctx context.Context, f TaskFilter, opts *ListOptions) ([]*Task, *Pagination, error) {
	r, err := s.rpc.ListTasks(ctx, &workspacev1.ListTasksRequest{ProjectId: f.ProjectID, Status: f.Status, Limit: opts.limit(), Offset: opts.offset()})
	return r.GetData(), r.GetPagination(), err
}

// All iterates over every task matching f, pageSize at a time (0: 20).
func (s *TasksService) All(ctx context.Context, f TaskFilter, pageSize int) iter.Seq2[*Task, error] {
	return pages(ctx, pageSize, func(ctx context.Context, limit, offset *int32) ([]*Task, *Pagination, error) {
		r, err := s.rpc.ListTasks(ctx, &workspacev1.ListTasksRequest{ProjectId: f.ProjectID, Status: f.Status, Limit: limit, Offset: offset})
		return r.GetData(), r.GetPagination(), err
	})
}

// NewTask is what CreateTask takes.
type NewTask struct {
	ProjectID   string
	Title       string
	Description string
	Status      string     // "todo" when empty
	DueAt       *time.Time // optional
}

func (t NewTask) request() *workspacev1.CreateTaskRequest {
	req := &workspacev1.CreateTaskRequest{ProjectId: t.ProjectID, Title: t.Title, Description: t.Description, Status: t.Status}
	if t.DueAt != nil {
		req.DueAt = timestamppb.New(*t.DueAt)
	}
	return req
}

// Create makes a task in a project.
func (s *TasksService) Create(ctx context.Context, t NewTask) (*Task, error) {
	r, err := s.rpc.CreateTask(ctx, t.request())
	return r.GetTask(), err
}

// MaxBatch is how many tasks one BatchCreate may hold.
const MaxBatch = 100

// BatchCreate makes 1–MaxBatch tasks in one request and one transaction:
// all of them, returned in the order given, or none. If one is invalid the
// error's Details["field"] names it ("tasks[3].title"); a project the
// workspace does not have is a NOT_FOUND naming "tasks[i].project_id".
func (s *TasksService) BatchCreate(ctx context.Context, tasks []NewTask) ([]*Task, error) {
	req := &workspacev1.BatchCreateTasksRequest{Tasks: make([]*workspacev1.CreateTaskRequest, len(tasks))}
	for i, t := range tasks {
		req.Tasks[i] = t.request()
	}
	r, err := s.rpc.BatchCreateTasks(ctx, req)
	return r.GetTasks(), err
}

// Get returns one task.
func (s *TasksService) Get(ctx context.Context, id string) (*Task, error) {
	r, err := s.rpc.GetTask(ctx, &workspacev1.GetTaskRequest{Id: id})
	return r.GetTask(), err
}

// Update changes the fields set in u and leaves the others alone — the seed's
// PUT /v1/tasks/{id} {"status":"completed"} is
// Update(ctx, id, &sdk.TaskUpdate{Status: proto.String("completed")}).
func (s *TasksService) Update(ctx context.Context, id string, u *TaskUpdate) (*Task, error) {
	r, err := s.rpc.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: id, Task: u})
	return r.GetTask(), err
}

// Delete deletes a task.
func (s *TasksService) Delete(ctx context.Context, id string) error {
	_, err := s.rpc.DeleteTask(ctx, &workspacev1.DeleteTaskRequest{Id: id})
	return err
}

// APIKeysService is /v1/api-keys; every call needs the admin scope.
type APIKeysService struct {
	rpc workspacev1.ApiKeyServiceClient
}

// List returns one page of keys, without their secrets.
func (s *APIKeysService) List(ctx context.Context, opts *ListOptions) ([]*APIKey, *Pagination, error) {
	r, err := s.rpc.ListApiKeys(ctx, &workspacev1.ListApiKeysRequest{Limit: opts.limit(), Offset: opts.offset()})
	return r.GetData(), r.GetPagination(), err
}

// All iterates over every key.
func (s *APIKeysService) All(ctx context.Context, pageSize int) iter.Seq2[*APIKey, error] {
	return pages(ctx, pageSize, func(ctx context.Context, limit, offset *int32) ([]*APIKey, *Pagination, error) {
		r, err := s.rpc.ListApiKeys(ctx, &workspacev1.ListApiKeysRequest{Limit: limit, Offset: offset})
		return r.GetData(), r.GetPagination(), err
	})
}

// Create makes a key with scopes ("read", "write", "delete", "admin"). Its
// secret is in GetKey(), this once. expiresAt may be nil.
func (s *APIKeysService) Create(ctx context.Context, name string, scopes []string, expiresAt *time.Time) (*APIKey, error) {
	req := &workspacev1.CreateApiKeyRequest{Name: name, Scopes: scopes}
	if expiresAt != nil {
		req.ExpiresAt = timestamppb.New(*expiresAt)
	}
	r, err := s.rpc.CreateApiKey(ctx, req)
	return r.GetApiKey(), err
}

// Delete revokes a key.
func (s *APIKeysService) Delete(ctx context.Context, id string) error {
	_, err := s.rpc.DeleteApiKey(ctx, &workspacev1.DeleteApiKeyRequest{Id: id})
	return err
}

// WorkspaceService is /v1/workspace.
type WorkspaceService struct {
	rpc workspacev1.WorkspaceServiceClient
}

// Get returns the caller's workspace, its plan and its usage now.
func (s *WorkspaceService) Get(ctx context.Context) (*Workspace, error) {
	r, err := s.rpc.GetWorkspace(ctx, &workspacev1.GetWorkspaceRequest{})
	return r.GetWorkspace(), err
}
