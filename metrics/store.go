package metrics

import (
	"context"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/example/workspace/store"
)

// The timing wrapper is held to the whole of store.Store twice over. It does
// not embed the interface, so a method added to store.Store and not written
// out here fails to compile (an embedded interface passes such a method
// through untimed, as it did the three idempotency methods).
// And TestTimeStoreTimesEveryMethod calls every method of store.Store through
// it, found by reflection, and fails unless each one moved its own
// histogram, which catches a method that is written out but not timed, or
// timed under another's name.

// untimed are the methods of store.Store that are not timed: Close ends the
// store, and its latency says nothing about the store's health.
var untimed = map[string]bool{"Close": true}

// storeOperations are the method names of store.Store that are timed, read
// from the interface itself so that no list can fall behind it.
func storeOperations() []string {
	t := reflect.TypeFor[store.Store]()
	ops := make([]string, 0, t.NumMethod())
	for i := range t.NumMethod() {
		if name := t.Method(i).Name; !untimed[name] {
			ops = append(ops, name)
		}
	}
	return ops
}

// TimeStore returns st with every operation's latency observed in
// workspace_store_operation_duration_seconds{operation="<method name>"}.
// Every operation's series exists from the start, at zero.
func (m *Metrics) TimeStore(st store.Store) store.Store {
	ops := storeOperations()
	t := &timedStore{next: st, obs: make(map[string]prometheus.Observer, len(ops))}
	for _, op := range ops {
		t.obs[op] = m.storeOps.WithLabelValues(op)
	}
	return t
}

// timedStore times every method of next but Close. It implements each one
// explicitly; see above why it must not embed store.Store.
type timedStore struct {
	next store.Store
	obs  map[string]prometheus.Observer // read-only after TimeStore
}

var _ store.Store = (*timedStore)(nil)

func (s *timedStore) since(op string, start time.Time) {
	s.obs[op].Observe(time.Since(start).Seconds())
}

func (s *timedStore) Bootstrap(ctx context.Context, ws store.Workspace, key store.APIKey) (bool, error) {
	defer s.since("Bootstrap", time.Now())
	return s.next.Bootstrap(ctx, ws, key)
}

func (s *timedStore) CreateWorkspaceWithKey(ctx context.Context, ws store.Workspace, key store.APIKey) error {
	defer s.since("CreateWorkspaceWithKey", time.Now())
	return s.next.CreateWorkspaceWithKey(ctx, ws, key)
}

func (s *timedStore) CreateWorkspace(ctx context.Context, ws store.Workspace) error {
	defer s.since("CreateWorkspace", time.Now())
	return s.next.CreateWorkspace(ctx, ws)
}

func (s *timedStore) GetWorkspace(ctx context.Context, id string) (store.Workspace, error) {
	defer s.since("GetWorkspace", time.Now())
	return s.next.GetWorkspace(ctx, id)
}

func (s *timedStore) SetWorkspacePlan(ctx context.Context, id, plan string) error {
	defer s.since("SetWorkspacePlan", time.Now())
	return s.next.SetWorkspacePlan(ctx, id, plan)
}

func (s *timedStore) CreateProject(ctx context.Context, p store.Project) error {
	defer s.since("CreateProject", time.Now())
	return s.next.CreateProject(ctx, p)
}

func (s *timedStore) GetProject(ctx context.Context, workspaceID, id string) (store.Project, error) {
	defer s.since("GetProject", time.Now())
	return s.next.GetProject(ctx, workspaceID, id)
}

func (s *timedStore) UpdateProject(ctx context.Context, workspaceID, id string, update func(*store.Project) error) (store.Project, error) {
	defer s.since("UpdateProject", time.Now())
	return s.next.UpdateProject(ctx, workspaceID, id, update)
}

func (s *timedStore) DeleteProject(ctx context.Context, workspaceID, id string) error {
	defer s.since("DeleteProject", time.Now())
	return s.next.DeleteProject(ctx, workspaceID, id)
}

func (s *timedStore) DeleteProjectIf(ctx context.Context, workspaceID, id string, check func(store.Project) error) error {
	defer s.since("DeleteProjectIf", time.Now())
	return s.next.DeleteProjectIf(ctx, workspaceID, id, check)
}

func (s *timedStore) ListProjects(ctx context.Context, workspaceID string, filter store.ProjectFilter, page store.Page) ([]store.Project, int, error) {
	defer s.since("ListProjects", time.Now())
	return s.next.ListProjects(ctx, workspaceID, filter, page)
}

func (s *timedStore) CreateTask(ctx context.Context, t store.Task) error {
	defer s.since("CreateTask", time.Now())
	return s.next.CreateTask(ctx, t)
}

func (s *timedStore) CreateTasks(ctx context.Context, tasks []store.Task) error {
	defer s.since("CreateTasks", time.Now())
	return s.next.CreateTasks(ctx, tasks)
}

func (s *timedStore) GetTask(ctx context.Context, workspaceID, id string) (store.Task, error) {
	defer s.since("GetTask", time.Now())
	return s.next.GetTask(ctx, workspaceID, id)
}

func (s *timedStore) UpdateTask(ctx context.Context, workspaceID, id string, update func(*store.Task) error) (store.Task, error) {
	defer s.since("UpdateTask", time.Now())
	return s.next.UpdateTask(ctx, workspaceID, id, update)
}

func (s *timedStore) DeleteTask(ctx context.Context, workspaceID, id string) error {
	defer s.since("DeleteTask", time.Now())
	return s.next.DeleteTask(ctx, workspaceID, id)
}

func (s *timedStore) DeleteTaskIf(ctx context.Context, workspaceID, id string, check func(store.Task) error) error {
	defer s.since("DeleteTaskIf", time.Now())
	return s.next.DeleteTaskIf(ctx, workspaceID, id, check)
}

func (s *timedStore) ListTasks(ctx context.Context, workspaceID string, filter store.TaskFilter, page store.Page) ([]store.Task, int, error) {
	defer s.since("ListTasks", time.Now())
	return s.next.ListTasks(ctx, workspaceID, filter, page)
}

func (s *timedStore) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	defer s.since("CreateAPIKey", time.Now())
	return s.next.CreateAPIKey(ctx, k)
}

func (s *timedStore) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	defer s.since("GetAPIKey", time.Now())
	return s.next.GetAPIKey(ctx, id)
}

func (s *timedStore) ListAPIKeys(ctx context.Context, workspaceID string, page store.Page) ([]store.APIKey, int, error) {
	defer s.since("ListAPIKeys", time.Now())
	return s.next.ListAPIKeys(ctx, workspaceID, page)
}

func (s *timedStore) RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) (store.APIKey, error) {
	defer s.since("RevokeAPIKey", time.Now())
	return s.next.RevokeAPIKey(ctx, workspaceID, id, at)
}

func (s *timedStore) LookupAPIKey(ctx context.Context, hash []byte) (store.APIKey, store.Workspace, error) {
	defer s.since("LookupAPIKey", time.Now())
	return s.next.LookupAPIKey(ctx, hash)
}

func (s *timedStore) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	defer s.since("TouchAPIKey", time.Now())
	return s.next.TouchAPIKey(ctx, id, at)
}

func (s *timedStore) ReserveIdempotencyKey(ctx context.Context, k store.IdempotencyKey, expiredBefore, staleBefore time.Time) (store.IdempotencyKey, bool, error) {
	defer s.since("ReserveIdempotencyKey", time.Now())
	return s.next.ReserveIdempotencyKey(ctx, k, expiredBefore, staleBefore)
}

func (s *timedStore) CompleteIdempotencyKey(ctx context.Context, workspaceID, key string, response []byte, at time.Time) error {
	defer s.since("CompleteIdempotencyKey", time.Now())
	return s.next.CompleteIdempotencyKey(ctx, workspaceID, key, response, at)
}

func (s *timedStore) ReleaseIdempotencyKey(ctx context.Context, workspaceID, key string) error {
	defer s.since("ReleaseIdempotencyKey", time.Now())
	return s.next.ReleaseIdempotencyKey(ctx, workspaceID, key)
}

func (s *timedStore) Ping(ctx context.Context) error {
	defer s.since("Ping", time.Now())
	return s.next.Ping(ctx)
}

// Close is not timed (see untimed).
func (s *timedStore) Close() error { return s.next.Close() }

func (s *timedStore) ListEvents(ctx context.Context, workspaceID string, filter store.EventFilter, limit int) ([]store.Event, int, error) {
	defer s.since("ListEvents", time.Now())
	return s.next.ListEvents(ctx, workspaceID, filter, limit)
}

func (s *timedStore) EventHead(ctx context.Context, workspaceID string) (store.EventHead, error) {
	defer s.since("EventHead", time.Now())
	return s.next.EventHead(ctx, workspaceID)
}

func (s *timedStore) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	defer s.since("PruneEvents", time.Now())
	return s.next.PruneEvents(ctx, before, limit)
}

// FollowEvents is timed as the whole follow, which lasts until its ctx
// ends: the histogram counts follows more than it measures them.
func (s *timedStore) FollowEvents(ctx context.Context, notify func(workspaceID string, seq int64)) error {
	defer s.since("FollowEvents", time.Now())
	return s.next.FollowEvents(ctx, notify)
}

func (s *timedStore) CreateWebhookEndpoint(ctx context.Context, e store.WebhookEndpoint) (store.WebhookEndpoint, error) {
	defer s.since("CreateWebhookEndpoint", time.Now())
	return s.next.CreateWebhookEndpoint(ctx, e)
}

func (s *timedStore) GetWebhookEndpoint(ctx context.Context, workspaceID, id string) (store.WebhookEndpoint, error) {
	defer s.since("GetWebhookEndpoint", time.Now())
	return s.next.GetWebhookEndpoint(ctx, workspaceID, id)
}

func (s *timedStore) ListWebhookEndpoints(ctx context.Context, workspaceID string, page store.Page) ([]store.WebhookEndpoint, int, error) {
	defer s.since("ListWebhookEndpoints", time.Now())
	return s.next.ListWebhookEndpoints(ctx, workspaceID, page)
}

func (s *timedStore) UpdateWebhookEndpoint(ctx context.Context, workspaceID, id string, update func(*store.WebhookEndpoint) error) (store.WebhookEndpoint, error) {
	defer s.since("UpdateWebhookEndpoint", time.Now())
	return s.next.UpdateWebhookEndpoint(ctx, workspaceID, id, update)
}

func (s *timedStore) DeleteWebhookEndpoint(ctx context.Context, workspaceID, id string) error {
	defer s.since("DeleteWebhookEndpoint", time.Now())
	return s.next.DeleteWebhookEndpoint(ctx, workspaceID, id)
}

func (s *timedStore) DeleteWebhookEndpointIf(ctx context.Context, workspaceID, id string, check func(store.WebhookEndpoint) error) error {
	defer s.since("DeleteWebhookEndpointIf", time.Now())
	return s.next.DeleteWebhookEndpointIf(ctx, workspaceID, id, check)
}

func (s *timedStore) ListWebhookDeliveries(ctx context.Context, workspaceID, endpointID string, page store.Page) ([]store.WebhookDelivery, int, error) {
	defer s.since("ListWebhookDeliveries", time.Now())
	return s.next.ListWebhookDeliveries(ctx, workspaceID, endpointID, page)
}

func (s *timedStore) GetWebhookDelivery(ctx context.Context, workspaceID, endpointID, id string) (store.WebhookDelivery, error) {
	defer s.since("GetWebhookDelivery", time.Now())
	return s.next.GetWebhookDelivery(ctx, workspaceID, endpointID, id)
}

func (s *timedStore) ClaimWebhookEndpoints(ctx context.Context, owner string, now time.Time, ttl time.Duration, limit int) ([]store.WebhookEndpoint, error) {
	defer s.since("ClaimWebhookEndpoints", time.Now())
	return s.next.ClaimWebhookEndpoints(ctx, owner, now, ttl, limit)
}

func (s *timedStore) RenewWebhookLease(ctx context.Context, owner, endpointID string, now time.Time, ttl time.Duration) error {
	defer s.since("RenewWebhookLease", time.Now())
	return s.next.RenewWebhookLease(ctx, owner, endpointID, now, ttl)
}

func (s *timedStore) NextWebhookEvent(ctx context.Context, owner, endpointID string, now time.Time) (store.WebhookEndpoint, store.Event, bool, error) {
	defer s.since("NextWebhookEvent", time.Now())
	return s.next.NextWebhookEvent(ctx, owner, endpointID, now)
}

func (s *timedStore) RecordWebhookAttempt(ctx context.Context, owner string, now time.Time, a store.WebhookAttempt) (store.WebhookEndpoint, error) {
	defer s.since("RecordWebhookAttempt", time.Now())
	return s.next.RecordWebhookAttempt(ctx, owner, now, a)
}

func (s *timedStore) ReleaseWebhookLease(ctx context.Context, owner, endpointID string) error {
	defer s.since("ReleaseWebhookLease", time.Now())
	return s.next.ReleaseWebhookLease(ctx, owner, endpointID)
}

func (s *timedStore) RecordManualWebhookDelivery(ctx context.Context, d store.WebhookDelivery) (store.WebhookDelivery, error) {
	defer s.since("RecordManualWebhookDelivery", time.Now())
	return s.next.RecordManualWebhookDelivery(ctx, d)
}

func (s *timedStore) PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	defer s.since("PruneWebhookDeliveries", time.Now())
	return s.next.PruneWebhookDeliveries(ctx, before, limit)
}
