// Package storetest is the conformance suite that every store.Store backend runs.
package storetest

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

// Run runs the suite. newStore must return a fresh, empty, migrated store on
// every call and close it in t.Cleanup; the Close subtest closes its store
// first, so the backend's cleanup must accept a store that is already closed.
// The subtests run in parallel, since a durable backend spends most of the
// suite waiting for its disk: newStore is called concurrently, and the stores
// it returns must share no data.
//
// Ids are compared bytewise (Go string order) for the id tie-break of list
// orders, as the API's base62 ids are meant to sort in ASCII order.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Workspace/CreateGet", testWorkspaceCreateGet},
		{"Workspace/Conflict", testWorkspaceConflict},
		{"Workspace/SetPlan", testWorkspaceSetPlan},
		{"Workspace/CreateWithKey", testWorkspaceCreateWithKey},
		{"Workspace/CreateWithKeyAtomic", testWorkspaceCreateWithKeyAtomic},

		{"Project/CreateGet", testProjectCreateGet},
		{"Project/Conflict", testProjectConflict},
		{"Project/Update", testProjectUpdate},
		{"Project/UpdateKeepsIdentity", testProjectUpdateKeepsIdentity},
		{"Project/UpdateAborts", testProjectUpdateAborts},
		{"Project/Delete", testProjectDelete},
		{"Project/List", testProjectList},
		{"Project/ListOrders", testProjectListOrders},

		{"Task/CreateGet", testTaskCreateGet},
		{"Task/CreateConflict", testTaskCreateConflict},
		{"Task/CreateProjectNotFound", testTaskCreateProjectNotFound},
		{"Task/Update", testTaskUpdate},
		{"Task/UpdateKeepsIdentity", testTaskUpdateKeepsIdentity},
		{"Task/UpdateAborts", testTaskUpdateAborts},
		{"Task/UpdateProjectNotFound", testTaskUpdateProjectNotFound},
		{"Task/Delete", testTaskDelete},
		{"Task/List", testTaskList},
		{"Task/ListFilters", testTaskListFilters},
		{"Task/ListOrders", testTaskListOrders},
		{"Task/ListMoreFilters", testTaskListMoreFilters},
		{"List/Refusals", testListRefusals},
		{"Task/CreateBatch", testTaskCreateBatch},
		{"Task/CreateBatchAllOrNothing", testTaskCreateBatchAllOrNothing},

		{"APIKey/CreateGet", testAPIKeyCreateGet},
		{"APIKey/CreateErrors", testAPIKeyCreateErrors},
		{"APIKey/List", testAPIKeyList},
		{"APIKey/Revoke", testAPIKeyRevoke},
		{"APIKey/Lookup", testAPIKeyLookup},
		{"APIKey/Touch", testAPIKeyTouch},

		{"Bootstrap/Once", testBootstrapOnce},
		{"Bootstrap/AfterCreateWorkspace", testBootstrapAfterCreateWorkspace},

		{"Tenancy", testTenancy},

		{"Times/RFC3339Range", testTimesRFC3339Range},

		{"Idempotency/Lifecycle", testIdempotencyLifecycle},
		{"Idempotency/Release", testIdempotencyRelease},
		{"Idempotency/Expiry", testIdempotencyExpiry},
		{"Idempotency/Concurrent", testIdempotencyConcurrent},

		{"Concurrency/Tasks", testConcurrentTasks},
		{"Concurrency/Projects", testConcurrentProjects},
		{"Concurrency/UpdateProject", testConcurrentUpdateProject},
		{"Concurrency/Once", testConcurrentOnce},
		{"Concurrency/ConditionalUpdates", testConcurrentConditionalUpdates},

		{"Version/Project", testProjectVersion},
		{"Version/Task", testTaskVersion},
		{"Version/ProjectDeleteIf", testProjectDeleteIf},
		{"Version/TaskDeleteIf", testTaskDeleteIf},
		{"Concurrency/Batches", testConcurrentBatches},

		{"Counters/Totals", testCountersTotals},
		{"Counters/Concurrent", testCountersConcurrent},
		{"Counters/OtherWrites", testCountersOtherWrites},

		{"Events/Writes", testEventsWrites},
		{"Events/Rollbacks", testEventsRollbacks},
		{"Events/Tenancy", testEventsTenancy},
		{"Events/Filter", testEventsFilter},
		{"Events/Prune", testEventsPrune},
		{"Events/Concurrent", testEventsConcurrent},
		{"Events/Follow", testEventsFollow},

		{"Webhook/EndpointCRUD", testWebhookEndpointCRUD},
		{"Webhook/Tenancy", testWebhookTenancy},
		{"Webhook/Dispatch", testWebhookDispatch},
		{"Webhook/Leases", testWebhookLeases},
		{"Webhook/Disable", testWebhookDisable},
		{"Webhook/ConcurrentClaims", testWebhookConcurrentClaims},
		{"Webhook/NoSkipUnderWrites", testWebhookNoSkipUnderWrites},
		{"Webhook/PruneDeliveries", testWebhookPruneDeliveries},

		{"Ping", testPing},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
	// A race lost by a broken backend is not lost every time: several rounds,
	// each on an empty store, make a pass mean something.
	t.Run("Bootstrap/Concurrent", func(t *testing.T) {
		t.Parallel()
		for round := range bootstrapRounds {
			testBootstrapConcurrent(t, newStore(t), round)
		}
	})
}

// randomID is the id of no record; a foreign record must be reported exactly
// as it is.
const randomID = "missing_0000000000000000000"

// errAbort is what update callbacks return to abort.
var errAbort = errors.New("storetest: update aborted")

// at returns a fixed instant plus n microseconds. The zone is not UTC, so the
// suite notices a backend that returns times in the zone they were given in,
// and the fraction has six digits, so it notices lost microseconds.
func at(n int) time.Time {
	zone := time.FixedZone("IST", 5*3600+30*60)
	return time.Date(2025, 3, 14, 15, 9, 26, 535897000, zone).Add(time.Duration(n) * time.Microsecond)
}

func ptr(t time.Time) *time.Time { return &t }

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// --- fixtures: each stores a record with every field set and fails the test
// if the store refuses it.

func newWorkspace(id string) store.Workspace {
	return store.Workspace{ID: id, Name: "Workspace " + id + " – ünïcødé ✓", Plan: "free", CreatedAt: at(0)}
}

func mustWorkspace(t *testing.T, s store.Store, id string) store.Workspace {
	t.Helper()
	ws := newWorkspace(id)
	if err := s.CreateWorkspace(t.Context(), ws); err != nil {
		t.Fatalf("CreateWorkspace(%s): %v", id, err)
	}
	return ws
}

func newProject(wsID, id string, created time.Time) store.Project {
	return store.Project{
		ID:          id,
		WorkspaceID: wsID,
		Name:        "Project " + id,
		Description: "About " + id + "\nwith a second line and 'quotes' \"too\"",
		CreatedAt:   created,
		UpdatedAt:   created.Add(time.Second),
	}
}

func mustProject(t *testing.T, s store.Store, wsID, id string, created time.Time) store.Project {
	t.Helper()
	p := newProject(wsID, id, created)
	if err := s.CreateProject(t.Context(), p); err != nil {
		t.Fatalf("CreateProject(%s): %v", id, err)
	}
	return p
}

func newTask(wsID, projectID, id, status string, created time.Time) store.Task {
	return store.Task{
		ID:          id,
		WorkspaceID: wsID,
		ProjectID:   projectID,
		Title:       "Task " + id,
		Description: "Do " + id,
		Status:      status,
		DueAt:       ptr(created.Add(48 * time.Hour)),
		CreatedAt:   created,
		UpdatedAt:   created.Add(time.Second),
	}
}

func mustTask(t *testing.T, s store.Store, wsID, projectID, id, status string, created time.Time) store.Task {
	t.Helper()
	task := newTask(wsID, projectID, id, status, created)
	if err := s.CreateTask(t.Context(), task); err != nil {
		t.Fatalf("CreateTask(%s): %v", id, err)
	}
	return task
}

func newKey(wsID, id string, created time.Time) store.APIKey {
	return store.APIKey{
		ID:          id,
		WorkspaceID: wsID,
		Name:        "Key " + id,
		Scopes:      []string{"projects:read", "tasks:write"},
		Prefix:      "wsk_" + id[len(id)-3:],
		Hash:        hashOf(id),
		CreatedAt:   created,
		ExpiresAt:   ptr(created.Add(365 * 24 * time.Hour)),
	}
}

func mustKey(t *testing.T, s store.Store, wsID, id string, created time.Time) store.APIKey {
	t.Helper()
	k := newKey(wsID, id, created)
	if err := s.CreateAPIKey(t.Context(), k); err != nil {
		t.Fatalf("CreateAPIKey(%s): %v", id, err)
	}
	return k
}

// --- comparisons

// diff collects the fields in which a record differs from the expected one.
// Times must be UTC and the same instant; nil and empty slices are equal.
type diff []string

func (d *diff) str(field, got, want string) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s = %q, want %q", field, got, want))
	}
}

func (d *diff) time(field string, got, want time.Time) {
	if name, offset := got.Zone(); name != "UTC" || offset != 0 {
		*d = append(*d, fmt.Sprintf("%s = %s is not in UTC", field, got))
	}
	if !got.Equal(want) {
		*d = append(*d, fmt.Sprintf("%s = %s, want %s", field, got.UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano)))
	}
}

func (d *diff) optTime(field string, got, want *time.Time) {
	switch {
	case got == nil && want == nil:
	case got == nil:
		*d = append(*d, fmt.Sprintf("%s = nil, want %s", field, want.UTC().Format(time.RFC3339Nano)))
	case want == nil:
		*d = append(*d, fmt.Sprintf("%s = %s, want nil", field, got.Format(time.RFC3339Nano)))
	default:
		d.time(field, *got, *want)
	}
}

func (d *diff) report(t *testing.T, what string) {
	t.Helper()
	if len(*d) > 0 {
		t.Errorf("%s: %s", what, strings.Join(*d, "; "))
	}
}

func checkWorkspace(t *testing.T, what string, got, want store.Workspace) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Name", got.Name, want.Name)
	d.str("Plan", got.Plan, want.Plan)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.report(t, what)
}

func checkProject(t *testing.T, what string, got, want store.Project) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("WorkspaceID", got.WorkspaceID, want.WorkspaceID)
	d.str("Name", got.Name, want.Name)
	d.str("Description", got.Description, want.Description)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.report(t, what)
}

func checkTask(t *testing.T, what string, got, want store.Task) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("WorkspaceID", got.WorkspaceID, want.WorkspaceID)
	d.str("ProjectID", got.ProjectID, want.ProjectID)
	d.str("Title", got.Title, want.Title)
	d.str("Description", got.Description, want.Description)
	d.str("Status", got.Status, want.Status)
	d.optTime("DueAt", got.DueAt, want.DueAt)
	d.optTime("CompletedAt", got.CompletedAt, want.CompletedAt)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.report(t, what)
}

func checkKey(t *testing.T, what string, got, want store.APIKey) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("WorkspaceID", got.WorkspaceID, want.WorkspaceID)
	d.str("Name", got.Name, want.Name)
	if !slices.Equal(got.Scopes, want.Scopes) {
		d = append(d, fmt.Sprintf("Scopes = %q, want %q", got.Scopes, want.Scopes))
	}
	d.str("Prefix", got.Prefix, want.Prefix)
	if !bytes.Equal(got.Hash, want.Hash) {
		d = append(d, fmt.Sprintf("Hash = %x, want %x", got.Hash, want.Hash))
	}
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.optTime("LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	d.optTime("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.optTime("RevokedAt", got.RevokedAt, want.RevokedAt)
	d.report(t, what)
}

// checkRecords compares a list with the expected records, in order.
func checkRecords[T any](t *testing.T, what string, got, want []T, id func(T) string, check func(*testing.T, string, T, T)) {
	t.Helper()
	if g, w := mapIDs(got, id), mapIDs(want, id); !slices.Equal(g, w) {
		t.Errorf("%s: ids %q, want %q", what, g, w)
		return
	}
	for i := range got {
		check(t, what, got[i], want[i])
	}
}

func mapIDs[T any](recs []T, id func(T) string) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = id(r)
	}
	return ids
}

func projectID(p store.Project) string { return p.ID }
func taskID(t store.Task) string       { return t.ID }
func keyID(k store.APIKey) string      { return k.ID }

// newestFirst sorts records in the list order of the contract: created_at
// descending, then id descending.
func newestFirst[T any](recs []T, key func(T) (time.Time, string)) []T {
	out := slices.Clone(recs)
	slices.SortFunc(out, func(a, b T) int {
		ta, ia := key(a)
		tb, ib := key(b)
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return cmp.Compare(ib, ia)
	})
	return out
}

func projectKey(p store.Project) (time.Time, string) { return p.CreatedAt, p.ID }
func taskKey(t store.Task) (time.Time, string)       { return t.CreatedAt, t.ID }
func apiKeyKey(k store.APIKey) (time.Time, string)   { return k.CreatedAt, k.ID }

// checkPages walks the list page by page with several page sizes, one page
// past the end and one far beyond it: every page must be the matching slice
// of want (the ids in list order), so pages are ordered, disjoint and cover
// everything, and every page reports the full total.
func checkPages(t *testing.T, what string, want []string, list func(store.Page) ([]string, int, error)) {
	t.Helper()
	limits := []int{1, 2, 3, len(want) + 5}
	if len(want) > 0 {
		limits = append(limits, len(want))
	}
	for _, limit := range limits {
		seen := map[string]bool{}
		for offset := 0; offset <= len(want)+limit; offset += limit {
			page := store.Page{Limit: limit, Offset: offset}
			got, total, err := list(page)
			if err != nil {
				t.Fatalf("%s %+v: %v", what, page, err)
			}
			if total != len(want) {
				t.Errorf("%s %+v: total = %d, want %d", what, page, total, len(want))
			}
			exp := want[min(offset, len(want)):min(offset+limit, len(want))]
			if !slices.Equal(got, exp) {
				t.Errorf("%s %+v: ids %q, want %q", what, page, got, exp)
			}
			for _, id := range got {
				if seen[id] {
					t.Errorf("%s: %s is on two pages of %d", what, id, limit)
				}
				seen[id] = true
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%s: pages of %d hold %d records, want %d", what, limit, len(seen), len(want))
		}
	}
	page := store.Page{Limit: 10, Offset: len(want) + 1000}
	got, total, err := list(page)
	if err != nil || len(got) != 0 || total != len(want) {
		t.Errorf("%s %+v = %q, %d, %v; want no record, %d, nil", what, page, got, total, err, len(want))
	}
}

// --- errors

func checkNotFound(t *testing.T, what string, err error, resource string) {
	t.Helper()
	var nf *store.NotFoundError
	if !errors.Is(err, store.ErrNotFound) || !errors.As(err, &nf) || nf.Resource != resource {
		t.Errorf("%s: err = %v, want NotFound(%q)", what, err, resource)
	}
}

func checkConflict(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("%s: err = %v, want ErrConflict", what, err)
	}
}

// checkSameError checks that the error for a record of another workspace is
// NotFound(resource) and cannot be told from the one for a random id.
func checkSameError(t *testing.T, what string, foreign, random error, resource string) {
	t.Helper()
	checkNotFound(t, what+" (foreign id)", foreign, resource)
	checkNotFound(t, what+" (random id)", random, resource)
	if foreign == nil || random == nil {
		return
	}
	if reflect.TypeOf(foreign) != reflect.TypeOf(random) || foreign.Error() != random.Error() {
		t.Errorf("%s: foreign id gives %T %q, random id gives %T %q", what, foreign, foreign, random, random)
	}
}
