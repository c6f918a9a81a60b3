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
// server's default), following each page's next_page_token until a page has
// none or the caller stops: a cursor walk costs the same at any depth and
// neither skips nor repeats a row when rows are added meanwhile.
func pages[T any](ctx context.Context, pageSize int, fetch func(ctx context.Context, limit *int32, pageToken string) ([]T, *string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var limit *int32
		if pageSize > 0 {
			limit = proto.Int32(int32(pageSize))
		}
		token := ""
		for {
			items, next, err := fetch(ctx, limit, token)
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
			if next == nil || *next == "" {
				return
			}
			token = *next
		}
	}
}

// ListOptions selects one page of a list: by Offset, or after the Cursor of
// a previous page (its NextCursor; not both), in OrderBy.
type ListOptions struct {
	Limit  int // 1–100; 0: the server's default, 20
	Offset int
	// Cursor is a previous page's next_page_token; it must come with the
	// filters and order of that page.
	Cursor string
	// OrderBy is "created_at", "updated_at" or "due_at" (tasks only), with
	// " asc" or " desc"; "" leaves the filter's (or "created_at desc"). API
	// keys take none.
	OrderBy string
}

// withCursor puts gRPC's next_page_token where the REST SDKs find it,
// Pagination.NextCursor, so that a page reads alike in every SDK.
func withCursor(p *Pagination, next string) *Pagination {
	if p != nil && next != "" {
		p.NextCursor = &next
	}
	return p
}

func (o *ListOptions) cursor() string {
	if o == nil {
		return ""
	}
	return o.Cursor
}

func (o *ListOptions) orderBy() string {
	if o == nil {
		return ""
	}
	return o.OrderBy
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

// WriteOption conditions an Update or a Delete.
type WriteOption func(*writeOptions)

type writeOptions struct{ etag string }

func collect(opts []WriteOption) writeOptions {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// IfMatch makes an Update or Delete happen only if the resource has not
// changed since etag was read: pass its GetEtag() (or "*", any version).
// Otherwise the call fails with an *Error of status FailedPrecondition and
// code CodePreconditionFailed, and nothing changes. The check is made in the
// write's own transaction, so of two writers with the same etag one wins.
func IfMatch(etag string) WriteOption { return func(o *writeOptions) { o.etag = etag } }

// ProjectsService is /v1/projects.
type ProjectsService struct {
	rpc workspacev1.ProjectServiceClient
}

// ProjectFilter narrows and orders a list of projects.
type ProjectFilter struct {
	// Query finds projects whose name or description contains it, ignoring
	// case (3–200 characters).
	Query string
	// OrderBy is "created_at" or "updated_at", with " asc" or " desc"; "" is
	// "created_at desc" (newest first).
	OrderBy string
}

// List returns one page of projects, newest first (opts.OrderBy may say
// otherwise); the page's Pagination.NextCursor is the cursor of the next.
func (s *ProjectsService) List(ctx context.Context, opts *ListOptions) ([]*Project, *Pagination, error) {
	return s.ListMatching(ctx, ProjectFilter{}, opts)
}

// ListMatching is List for the projects matching f.
func (s *ProjectsService) ListMatching(ctx context.Context, f ProjectFilter, opts *ListOptions) ([]*Project, *Pagination, error) {
	if o := opts.orderBy(); o != "" {
		f.OrderBy = o
	}
	r, err := s.rpc.ListProjects(ctx, &workspacev1.ListProjectsRequest{Limit: opts.limit(), Offset: opts.offset(),
		PageToken: opts.cursor(), OrderBy: f.OrderBy, Q: f.Query})
	return r.GetData(), withCursor(r.GetPagination(), r.GetNextPageToken()), err
}

// All iterates over every project, pageSize at a time (0: 20).
func (s *ProjectsService) All(ctx context.Context, pageSize int) iter.Seq2[*Project, error] {
	return s.AllMatching(ctx, ProjectFilter{}, pageSize)
}

// AllMatching iterates over every project matching f, in f.OrderBy.
func (s *ProjectsService) AllMatching(ctx context.Context, f ProjectFilter, pageSize int) iter.Seq2[*Project, error] {
	return pages(ctx, pageSize, func(ctx context.Context, limit *int32, token string) ([]*Project, *string, error) {
		r, err := s.rpc.ListProjects(ctx, &workspacev1.ListProjectsRequest{Limit: limit, PageToken: token, OrderBy: f.OrderBy, Q: f.Query})
		return r.GetData(), r.NextPageToken, err
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

// Update changes the fields set in u and leaves the others alone; IfMatch
// makes it conditional.
func (s *ProjectsService) Update(ctx context.Context, id string, u *ProjectUpdate, opts ...WriteOption) (*Project, error) {
	r, err := s.rpc.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: id, Project: u, Etag: collect(opts).etag})
	return r.GetProject(), err
}

// Delete deletes a project and its tasks; IfMatch makes it conditional.
func (s *ProjectsService) Delete(ctx context.Context, id string, opts ...WriteOption) error {
	_, err := s.rpc.DeleteProject(ctx, &workspacev1.DeleteProjectRequest{Id: id, Etag: collect(opts).etag})
	return err
}

// TasksService is /v1/tasks.
type TasksService struct{ rpc workspacev1.TaskServiceClient }

// TaskFilter narrows a list of tasks; every field set must hold.
type TaskFilter struct {
	ProjectID string // only this project's tasks
	// Status is one status ("todo", "in_progress", "completed") or several
	// separated by commas ("todo,in_progress").
	Status       string
	DueBefore    *time.Time // only tasks due before (exclusive)
	DueAfter     *time.Time // only tasks due after (exclusive)
	UpdatedAfter *time.Time // only tasks changed after (exclusive)
	// Query finds tasks whose title or description contains it, ignoring
	// case (3–200 characters).
	Query string
	// OrderBy is "created_at", "updated_at" or "due_at", with " asc" or
	// " desc"; "" is "created_at desc" (newest first).
	OrderBy string
}

func (f TaskFilter) request(limit, offset *int32, token string) *workspacev1.ListTasksRequest {
	return &workspacev1.ListTasksRequest{ProjectId: f.ProjectID, Status: f.Status, Limit: limit, Offset: offset,
		PageToken: token, OrderBy: f.OrderBy, Q: f.Query,
		DueBefore: optTimestamp(f.DueBefore), DueAfter: optTimestamp(f.DueAfter), UpdatedAfter: optTimestamp(f.UpdatedAfter)}
}

func optTimestamp(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

// List returns one page of tasks matching f; the page's
// Pagination.NextCursor is the cursor of the next. opts.OrderBy, when set,
// overrides f.OrderBy.
func (s *TasksService) List(ctx context.Context, f TaskFilter, opts *ListOptions) ([]*Task, *Pagination, error) {
	if o := opts.orderBy(); o != "" {
		f.OrderBy = o
	}
	r, err := s.rpc.ListTasks(ctx, f.request(opts.limit(), opts.offset(), opts.cursor()))
	return r.GetData(), withCursor(r.GetPagination(), r.GetNextPageToken()), err
}

// All iterates over every task matching f, in f.OrderBy, pageSize at a time
// (0: 20).
func (s *TasksService) All(ctx context.Context, f TaskFilter, pageSize int) iter.Seq2[*Task, error] {
	return pages(ctx, pageSize, func(ctx context.Context, limit *int32, token string) ([]*Task, *string, error) {
		r, err := s.rpc.ListTasks(ctx, f.request(limit, nil, token))
		return r.GetData(), r.NextPageToken, err
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
// IfMatch makes it conditional.
func (s *TasksService) Update(ctx context.Context, id string, u *TaskUpdate, opts ...WriteOption) (*Task, error) {
	r, err := s.rpc.UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: id, Task: u, Etag: collect(opts).etag})
	return r.GetTask(), err
}

// Delete deletes a task; IfMatch makes it conditional.
func (s *TasksService) Delete(ctx context.Context, id string, opts ...WriteOption) error {
	_, err := s.rpc.DeleteTask(ctx, &workspacev1.DeleteTaskRequest{Id: id, Etag: collect(opts).etag})
	return err
}

// APIKeysService is /v1/api-keys; every call needs the admin scope.
type APIKeysService struct {
	rpc workspacev1.ApiKeyServiceClient
}

// List returns one page of keys, without their secrets, newest first; the
// page's Pagination.NextCursor is the cursor of the next.
func (s *APIKeysService) List(ctx context.Context, opts *ListOptions) ([]*APIKey, *Pagination, error) {
	r, err := s.rpc.ListApiKeys(ctx, &workspacev1.ListApiKeysRequest{Limit: opts.limit(), Offset: opts.offset(), PageToken: opts.cursor()})
	return r.GetData(), withCursor(r.GetPagination(), r.GetNextPageToken()), err
}

// All iterates over every key.
func (s *APIKeysService) All(ctx context.Context, pageSize int) iter.Seq2[*APIKey, error] {
	return pages(ctx, pageSize, func(ctx context.Context, limit *int32, token string) ([]*APIKey, *string, error) {
		r, err := s.rpc.ListApiKeys(ctx, &workspacev1.ListApiKeysRequest{Limit: limit, PageToken: token})
		return r.GetData(), r.NextPageToken, err
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
