package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/example/workspace/store"
)

// storeOperations are the methods of store.Store that are timed; Close is not.
var storeOperations = []string{
	"Bootstrap", "CreateWorkspaceWithKey", "CreateWorkspace", "GetWorkspace", "SetWorkspacePlan",
	"CreateProject", "GetProject", "UpdateProject", "DeleteProject", "ListProjects",
	"CreateTask", "GetTask", "UpdateTask", "DeleteTask", "ListTasks",
	"CreateAPIKey", "GetAPIKey", "ListAPIKeys", "RevokeAPIKey", "LookupAPIKey", "TouchAPIKey",
	"Ping",
}

// TimeStore returns st with every operation's latency observed in
// workspace_store_operation_duration_seconds{operation="<method name>"}.
func (m *Metrics) TimeStore(st store.Store) store.Store {
	t := &timedStore{Store: st, obs: make(map[string]prometheus.Observer, len(storeOperations))}
	for _, op := range storeOperations {
		t.obs[op] = m.storeOps.WithLabelValues(op)
	}
	return t
}

type timedStore struct {
	store.Store
	obs map[string]prometheus.Observer // read-only after TimeStore
}

func (s *timedStore) since(op string, start time.Time) {
	s.obs[op].Observe(time.Since(start).Seconds())
}

func (s *timedStore) Bootstrap(ctx context.Context, ws store.Workspace, key store.APIKey) (bool, error) {
	defer s.since("Bootstrap", time.Now())
	return s.Store.Bootstrap(ctx, ws, key)
}

func (s *timedStore) CreateWorkspaceWithKey(ctx context.Context, ws store.Workspace, key store.APIKey) error {
	defer s.since("CreateWorkspaceWithKey", time.Now())
	return s.Store.CreateWorkspaceWithKey(ctx, ws, key)
}

func (s *timedStore) CreateWorkspace(ctx context.Context, ws store.Workspace) error {
	defer s.since("CreateWorkspace", time.Now())
	return s.Store.CreateWorkspace(ctx, ws)
}

func (s *timedStore) GetWorkspace(ctx context.Context, id string) (store.Workspace, error) {
	defer s.since("GetWorkspace", time.Now())
	return s.Store.GetWorkspace(ctx, id)
}

func (s *timedStore) SetWorkspacePlan(ctx context.Context, id, plan string) error {
	defer s.since("SetWorkspacePlan", time.Now())
	return s.Store.SetWorkspacePlan(ctx, id, plan)
}

func (s *timedStore) CreateProject(ctx context.Context, p store.Project) error {
	defer s.since("CreateProject", time.Now())
	return s.Store.CreateProject(ctx, p)
}

func (s *timedStore) GetProject(ctx context.Context, workspaceID, id string) (store.Project, error) {
	defer s.since("GetProject", time.Now())
	return s.Store.GetProject(ctx, workspaceID, id)
}

func (s *timedStore) UpdateProject(ctx context.Context, workspaceID, id string, update func(*store.Project) error) (store.Project, error) {
	defer s.since("UpdateProject", time.Now())
	return s.Store.UpdateProject(ctx, workspaceID, id, update)
}

func (s *timedStore) DeleteProject(ctx context.Context, workspaceID, id string) error {
	defer s.since("DeleteProject", time.Now())
	return s.Store.DeleteProject(ctx, workspaceID, id)
}

func (s *timedStore) ListProjects(ctx context.Context, workspaceID string, page store.Page) ([]store.Project, int, error) {
	defer s.since("ListProjects", time.Now())
	return s.Store.ListProjects(ctx, workspaceID, page)
}

func (s *timedStore) CreateTask(ctx context.Context, t store.Task) error {
	defer s.since("CreateTask", time.Now())
	return s.Store.CreateTask(ctx, t)
}

func (s *timedStore) GetTask(ctx context.Context, workspaceID, id string) (store.Task, error) {
	defer s.since("GetTask", time.Now())
	return s.Store.GetTask(ctx, workspaceID, id)
}

func (s *timedStore) UpdateTask(ctx context.Context, workspaceID, id string, update func(*store.Task) error) (store.Task, error) {
	defer s.since("UpdateTask", time.Now())
	return s.Store.UpdateTask(ctx, workspaceID, id, update)
}

func (s *timedStore) DeleteTask(ctx context.Context, workspaceID, id string) error {
	defer s.since("DeleteTask", time.Now())
	return s.Store.DeleteTask(ctx, workspaceID, id)
}

func (s *timedStore) ListTasks(ctx context.Context, workspaceID string, filter store.TaskFilter, page store.Page) ([]store.Task, int, error) {
	defer s.since("ListTasks", time.Now())
	return s.Store.ListTasks(ctx, workspaceID, filter, page)
}

func (s *timedStore) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	defer s.since("CreateAPIKey", time.Now())
	return s.Store.CreateAPIKey(ctx, k)
}

func (s *timedStore) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	defer s.since("GetAPIKey", time.Now())
	return s.Store.GetAPIKey(ctx, id)
}

func (s *timedStore) ListAPIKeys(ctx context.Context, workspaceID string, page store.Page) ([]store.APIKey, int, error) {
	defer s.since("ListAPIKeys", time.Now())
	return s.Store.ListAPIKeys(ctx, workspaceID, page)
}

func (s *timedStore) RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) (store.APIKey, error) {
	defer s.since("RevokeAPIKey", time.Now())
	return s.Store.RevokeAPIKey(ctx, workspaceID, id, at)
}

func (s *timedStore) LookupAPIKey(ctx context.Context, hash []byte) (store.APIKey, store.Workspace, error) {
	defer s.since("LookupAPIKey", time.Now())
	return s.Store.LookupAPIKey(ctx, hash)
}

func (s *timedStore) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	defer s.since("TouchAPIKey", time.Now())
	return s.Store.TouchAPIKey(ctx, id, at)
}

func (s *timedStore) Ping(ctx context.Context) error {
	defer s.since("Ping", time.Now())
	return s.Store.Ping(ctx)
}
