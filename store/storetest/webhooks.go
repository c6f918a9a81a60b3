package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

// Webhooks: endpoints (CRUD, tenancy, versions), their attempts, and the
// dispatch under leases.

func newEndpoint(wsID, id string, created time.Time) store.WebhookEndpoint {
	return store.WebhookEndpoint{
		ID: id, WorkspaceID: wsID, URL: "https://example.com/hooks/" + id, Description: "Hook " + id + " ✓",
		Enabled: true, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: created, UpdatedAt: created,
	}
}

func mustEndpoint(t *testing.T, s store.Store, e store.WebhookEndpoint) store.WebhookEndpoint {
	t.Helper()
	out, err := s.CreateWebhookEndpoint(t.Context(), e)
	if err != nil {
		t.Fatalf("CreateWebhookEndpoint(%s): %v", e.ID, err)
	}
	return out
}

func checkEndpoint(t *testing.T, what string, got, want store.WebhookEndpoint) {
	t.Helper()
	var d diff
	d.str("id", got.ID, want.ID)
	d.str("workspace_id", got.WorkspaceID, want.WorkspaceID)
	d.str("url", got.URL, want.URL)
	d.str("description", got.Description, want.Description)
	d.str("event_types", fmt.Sprint(got.EventTypes), fmt.Sprint(want.EventTypes))
	d.str("enabled", fmt.Sprint(got.Enabled), fmt.Sprint(want.Enabled))
	d.str("disabled_reason", got.DisabledReason, want.DisabledReason)
	d.str("secret", got.Secret, want.Secret)
	d.str("previous_secret", got.PreviousSecret, want.PreviousSecret)
	d.optTime("previous_secret_expires_at", got.PreviousSecretExpiresAt, want.PreviousSecretExpiresAt)
	d.time("created_at", got.CreatedAt, want.CreatedAt)
	d.time("updated_at", got.UpdatedAt, want.UpdatedAt)
	d.str("version", fmt.Sprint(got.Version), fmt.Sprint(want.Version))
	d.str("delivered_seq", fmt.Sprint(got.DeliveredSeq), fmt.Sprint(want.DeliveredSeq))
	d.str("failed_attempts", fmt.Sprint(got.FailedAttempts), fmt.Sprint(want.FailedAttempts))
	d.optTime("next_attempt_at", got.NextAttemptAt, want.NextAttemptAt)
	d.report(t, what)
}

func testWebhookEndpointCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustWorkspace(t, s, "ws_1")
	mustProject(t, s, "ws_1", "proj_1", at(1))
	mustProject(t, s, "ws_1", "proj_2", at(2))
	e := newEndpoint("ws_1", "whe_1", at(10))
	e.EventTypes = []string{store.EventTaskCreated, store.EventProjectDeleted}
	e.PreviousSecret, e.PreviousSecretExpiresAt = "whsec_old", ptr(at(20))
	e.Version, e.DeliveredSeq, e.FailedAttempts = 7, 99, 3 // ignored
	got := mustEndpoint(t, s, e)
	want := e
	want.Version, want.DeliveredSeq, want.FailedAttempts = 1, 2, 0
	checkEndpoint(t, "created", got, want)
	g, err := s.GetWebhookEndpoint(ctx, "ws_1", "whe_1")
	if err != nil {
		t.Fatal(err)
	}
	checkEndpoint(t, "get", g, want)
	checkConflict(t, "create twice", func() error { _, err := s.CreateWebhookEndpoint(ctx, e); return err }())
	_, err = s.CreateWebhookEndpoint(ctx, newEndpoint("ws_none", "whe_x", at(1)))
	checkNotFound(t, "create in no workspace", err, "workspace")

	u, err := s.UpdateWebhookEndpoint(ctx, "ws_1", "whe_1", func(x *store.WebhookEndpoint) error {
		if x.Version != 1 {
			return fmt.Errorf("callback saw version %d", x.Version)
		}
		x.URL, x.Description, x.EventTypes, x.Enabled, x.UpdatedAt = "https://example.org/x", "", nil, false, at(30)
		x.ID, x.WorkspaceID, x.DeliveredSeq, x.Version = "whe_other", "ws_other", 0, 50
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want.URL, want.Description, want.EventTypes, want.Enabled, want.UpdatedAt, want.Version = "https://example.org/x", "", nil, false, at(30), 2
	checkEndpoint(t, "updated", u, want)
	if _, err := s.UpdateWebhookEndpoint(ctx, "ws_1", "whe_1", func(*store.WebhookEndpoint) error { return errAbort }); err != errAbort {
		t.Errorf("aborted update: %v, want the callback's error", err)
	}
	g, _ = s.GetWebhookEndpoint(ctx, "ws_1", "whe_1")
	checkEndpoint(t, "after the aborted update", g, want)

	var ids []string
	for i := range 4 {
		id := fmt.Sprintf("whe_l%d", i)
		mustEndpoint(t, s, newEndpoint("ws_1", id, at(100+i)))
		ids = append([]string{id}, ids...)
	}
	ids = append(ids, "whe_1")
	checkPages(t, "ListWebhookEndpoints", ids, func(p store.Page) ([]string, int, error) {
		es, n, err := s.ListWebhookEndpoints(ctx, "ws_1", p)
		return mapIDs(es, func(e store.WebhookEndpoint) string { return e.ID }), n, err
	})
	// A conditional delete: refused by its check (nothing deleted), then passed.
	if err := s.DeleteWebhookEndpointIf(ctx, "ws_1", "whe_1", func(x store.WebhookEndpoint) error {
		if x.Version != 2 {
			return fmt.Errorf("check saw version %d", x.Version)
		}
		return errAbort
	}); err != errAbort {
		t.Errorf("refused conditional delete: %v, want the check's error", err)
	}
	if _, err := s.GetWebhookEndpoint(ctx, "ws_1", "whe_1"); err != nil {
		t.Fatalf("after a refused conditional delete: %v", err)
	}
	mustEndpoint(t, s, newEndpoint("ws_1", "whe_if", at(200)))
	if err := s.DeleteWebhookEndpointIf(ctx, "ws_1", "whe_if", func(store.WebhookEndpoint) error { return nil }); err != nil {
		t.Fatal(err)
	}
	checkNotFound(t, "conditional delete twice", s.DeleteWebhookEndpointIf(ctx, "ws_1", "whe_if", func(store.WebhookEndpoint) error { return nil }), "webhook_endpoint")
	if err := s.DeleteWebhookEndpoint(ctx, "ws_1", "whe_1"); err != nil {
		t.Fatal(err)
	}
	checkNotFound(t, "delete twice", s.DeleteWebhookEndpoint(ctx, "ws_1", "whe_1"), "webhook_endpoint")
	_, err = s.GetWebhookEndpoint(ctx, "ws_1", "whe_1")
	checkNotFound(t, "get deleted", err, "webhook_endpoint")
}

func testWebhookTenancy(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustWorkspace(t, s, "ws_a")
	mustWorkspace(t, s, "ws_b")
	mustEndpoint(t, s, newEndpoint("ws_a", "whe_a", at(1)))
	d, err := s.RecordManualWebhookDelivery(ctx, store.WebhookDelivery{WorkspaceID: "ws_a", EndpointID: "whe_a",
		EventID: "evt_ping", EventType: "ping", Attempt: 1, AttemptedAt: at(2), StatusCode: 200, Succeeded: true})
	if err != nil {
		t.Fatal(err)
	}
	foreign := func(f func(ws, id string) error) (error, error) { return f("ws_b", "whe_a"), f("ws_b", "whe_nope") }
	fe, re := foreign(func(ws, id string) error { _, err := s.GetWebhookEndpoint(ctx, ws, id); return err })
	checkSameError(t, "GetWebhookEndpoint", fe, re, "webhook_endpoint")
	fe, re = foreign(func(ws, id string) error {
		_, err := s.UpdateWebhookEndpoint(ctx, ws, id, func(*store.WebhookEndpoint) error { return nil })
		return err
	})
	checkSameError(t, "UpdateWebhookEndpoint", fe, re, "webhook_endpoint")
	fe, re = foreign(func(ws, id string) error { return s.DeleteWebhookEndpoint(ctx, ws, id) })
	checkSameError(t, "DeleteWebhookEndpoint", fe, re, "webhook_endpoint")
	fe, re = foreign(func(ws, id string) error {
		return s.DeleteWebhookEndpointIf(ctx, ws, id, func(store.WebhookEndpoint) error { return nil })
	})
	checkSameError(t, "DeleteWebhookEndpointIf", fe, re, "webhook_endpoint")
	fe, re = foreign(func(ws, id string) error {
		_, _, err := s.ListWebhookDeliveries(ctx, ws, id, store.Page{Limit: 5})
		return err
	})
	checkSameError(t, "ListWebhookDeliveries", fe, re, "webhook_endpoint")
	fe, re = foreign(func(ws, id string) error { _, err := s.GetWebhookDelivery(ctx, ws, id, d.ID); return err })
	checkSameError(t, "GetWebhookDelivery", fe, re, "webhook_endpoint")
	fe, re = foreign(func(ws, id string) error {
		_, err := s.RecordManualWebhookDelivery(ctx, store.WebhookDelivery{WorkspaceID: ws, EndpointID: id, AttemptedAt: at(3)})
		return err
	})
	checkSameError(t, "RecordManualWebhookDelivery", fe, re, "webhook_endpoint")
	if es, n, err := s.ListWebhookEndpoints(ctx, "ws_b", store.Page{Limit: 5}); err != nil || len(es) != 0 || n != 0 {
		t.Errorf("ws_b's endpoints: %d, total %d, %v", len(es), n, err)
	}
	_, err = s.GetWebhookDelivery(ctx, "ws_a", "whe_a", "whd_nope")
	checkNotFound(t, "GetWebhookDelivery of a random id", err, "webhook_delivery")
}

// claimOne claims and expects exactly the endpoint id (or none when id is "").
func claimOne(t *testing.T, s store.Store, owner string, now time.Time, id string) {
	t.Helper()
	got, err := s.ClaimWebhookEndpoints(t.Context(), owner, now, 30*time.Second, 10)
	if err != nil {
		t.Fatalf("claim by %s: %v", owner, err)
	}
	ids := mapIDs(got, func(e store.WebhookEndpoint) string { return e.ID })
	if want := []string{id}; (id == "" && len(ids) != 0) || (id != "" && !slices.Equal(ids, want)) {
		t.Fatalf("claim by %s at %v: %q, want %q", owner, now, ids, id)
	}
}

func testWebhookDispatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustWorkspace(t, s, "ws_1")
	mustProject(t, s, "ws_1", "proj_0", at(0)) // before the endpoint: not its event
	e := newEndpoint("ws_1", "whe_1", at(1))
	e.EventTypes = []string{store.EventTaskCreated}
	e = mustEndpoint(t, s, e)
	if e.DeliveredSeq != 1 {
		t.Fatalf("delivered_seq at creation %d, want the head 1", e.DeliveredSeq)
	}
	now := time.Now()
	claimOne(t, s, "A", now, "")                                   // nothing after the cursor
	mustProject(t, s, "ws_1", "proj_1", at(2))                     // seq 2, filtered out
	mustTask(t, s, "ws_1", "proj_1", "task_1", "todo", at(3))      // seq 3
	mustTask(t, s, "ws_1", "proj_1", "task_2", "todo", at(4))      // seq 4
	if err := s.DeleteProject(ctx, "ws_1", "proj_0"); err != nil { // seq 5, filtered out
		t.Fatal(err)
	}
	claimOne(t, s, "A", now, "whe_1")
	claimOne(t, s, "B", now, "") // A holds it
	claimOne(t, s, "A", now, "") // and A does not claim it twice

	got, ev, ok, err := s.NextWebhookEvent(ctx, "A", "whe_1", now)
	if err != nil || !ok || ev.Seq != 3 || ev.Type != store.EventTaskCreated || got.DeliveredSeq != 2 {
		t.Fatalf("next = seq %d %s, %v, %v; cursor %d; want seq 3, the cursor past seq 2", ev.Seq, ev.Type, ok, err, got.DeliveredSeq)
	}
	if _, _, _, err := s.NextWebhookEvent(ctx, "B", "whe_1", now); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("next by B: %v, want ErrLeaseLost", err)
	}
	// A failure schedules a retry; the endpoint is not due before it.
	retry := now.Add(time.Minute)
	fail := store.WebhookDelivery{EndpointID: "whe_1", EventID: ev.ID, EventSeq: 3, EventType: ev.Type, Attempt: 1,
		AttemptedAt: now, StatusCode: 500, Duration: 1500 * time.Microsecond, ResponseExcerpt: "oops ✗", NextRetryAt: &retry}
	if _, err := s.RecordWebhookAttempt(ctx, "B", now, store.WebhookAttempt{Delivery: fail}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("record by B: %v, want ErrLeaseLost", err)
	}
	got, err = s.RecordWebhookAttempt(ctx, "A", now, store.WebhookAttempt{Delivery: fail})
	if err != nil || got.FailedAttempts != 1 || got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(retry.Truncate(time.Microsecond)) || got.DeliveredSeq != 2 {
		t.Fatalf("after a failure: %+v, %v", got, err)
	}
	if err := s.ReleaseWebhookLease(ctx, "A", "whe_1"); err != nil {
		t.Fatal(err)
	}
	claimOne(t, s, "B", now.Add(59*time.Second), "")
	claimOne(t, s, "B", retry, "whe_1")
	_, ev, ok, err = s.NextWebhookEvent(ctx, "B", "whe_1", retry)
	if err != nil || !ok || ev.Seq != 3 {
		t.Fatalf("retry's next: seq %d, %v, %v", ev.Seq, ok, err)
	}
	okd := fail
	okd.Attempt, okd.AttemptedAt, okd.StatusCode, okd.NextRetryAt, okd.Succeeded, okd.ResponseExcerpt = 2, retry, 204, nil, true, ""
	got, err = s.RecordWebhookAttempt(ctx, "B", retry, store.WebhookAttempt{Delivery: okd})
	if err != nil || got.DeliveredSeq != 3 || got.FailedAttempts != 0 || got.NextAttemptAt != nil {
		t.Fatalf("after a success: %+v, %v", got, err)
	}
	if _, err := s.RecordWebhookAttempt(ctx, "B", retry, store.WebhookAttempt{Delivery: okd}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("recording seq 3 again: %v, want ErrConflict", err)
	}
	_, ev, ok, err = s.NextWebhookEvent(ctx, "B", "whe_1", retry)
	if err != nil || !ok || ev.Seq != 4 {
		t.Fatalf("next after 3: seq %d, %v, %v", ev.Seq, ok, err)
	}
	okd.EventID, okd.EventSeq, okd.Attempt, okd.AttemptedAt = ev.ID, 4, 1, retry.Add(time.Millisecond)
	if _, err := s.RecordWebhookAttempt(ctx, "B", retry, store.WebhookAttempt{Delivery: okd}); err != nil {
		t.Fatal(err)
	}
	// Only filtered-out events are left: the cursor goes to the head.
	got, _, ok, err = s.NextWebhookEvent(ctx, "B", "whe_1", retry)
	if err != nil || ok || got.DeliveredSeq != 5 {
		t.Fatalf("next with none left: %v, %v, cursor %d; want none, cursor 5", ok, err, got.DeliveredSeq)
	}
	if err := s.ReleaseWebhookLease(ctx, "B", "whe_1"); err != nil {
		t.Fatal(err)
	}
	claimOne(t, s, "A", retry, "")

	// The attempts, newest first, with every field kept.
	ds, n, err := s.ListWebhookDeliveries(ctx, "ws_1", "whe_1", store.Page{Limit: 10})
	if err != nil || n != 3 || len(ds) != 3 {
		t.Fatalf("deliveries: %d of %d, %v", len(ds), n, err)
	}
	if ds[0].EventSeq != 4 || ds[1].EventSeq != 3 || ds[1].Attempt != 2 || ds[2].Attempt != 1 {
		t.Errorf("deliveries order: %+v", ds)
	}
	f := ds[2]
	if f.StatusCode != 500 || f.Duration != 1500*time.Microsecond || f.ResponseExcerpt != "oops ✗" || f.Succeeded ||
		f.NextRetryAt == nil || f.WorkspaceID != "ws_1" || f.EventType != store.EventTaskCreated || f.Manual ||
		f.AttemptedAt.Location() != time.UTC || !f.AttemptedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("failed attempt stored as %+v", f)
	}
	one, err := s.GetWebhookDelivery(ctx, "ws_1", "whe_1", f.ID)
	if err != nil || one.ID != f.ID || one.StatusCode != 500 {
		t.Errorf("GetWebhookDelivery: %+v, %v", one, err)
	}
	checkPages(t, "ListWebhookDeliveries", mapIDs(ds, func(d store.WebhookDelivery) string { return d.ID }),
		func(p store.Page) ([]string, int, error) {
			ds, n, err := s.ListWebhookDeliveries(ctx, "ws_1", "whe_1", p)
			return mapIDs(ds, func(d store.WebhookDelivery) string { return d.ID }), n, err
		})
	// A manual attempt is listed and moves nothing.
	m, err := s.RecordManualWebhookDelivery(ctx, store.WebhookDelivery{WorkspaceID: "ws_1", EndpointID: "whe_1",
		EventID: "evt_x", EventType: "ping", Attempt: 1, AttemptedAt: retry.Add(time.Second), StatusCode: 200, Succeeded: true})
	if err != nil || !m.Manual || len(m.ID) < 5 || m.ID[:4] != "whd_" {
		t.Fatalf("manual: %+v, %v", m, err)
	}
	if g, _ := s.GetWebhookEndpoint(ctx, "ws_1", "whe_1"); g.DeliveredSeq != 5 || g.Version != 1 {
		t.Errorf("after a manual attempt: cursor %d, version %d", g.DeliveredSeq, g.Version)
	}
}

func testWebhookLeases(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustWorkspace(t, s, "ws_1")
	mustEndpoint(t, s, newEndpoint("ws_1", "whe_1", at(1)))
	mustProject(t, s, "ws_1", "proj_1", at(2))
	now := time.Now()
	ttl := 30 * time.Second
	if got, err := s.ClaimWebhookEndpoints(ctx, "A", now, ttl, 5); err != nil || len(got) != 1 {
		t.Fatalf("claim: %d, %v", len(got), err)
	}
	// Renewed, A's lease outlives its first expiry.
	if err := s.RenewWebhookLease(ctx, "A", "whe_1", now.Add(20*time.Second), ttl); err != nil {
		t.Fatal(err)
	}
	claimOne(t, s, "B", now.Add(40*time.Second), "")
	if err := s.RenewWebhookLease(ctx, "B", "whe_1", now, ttl); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("renew by B: %v, want ErrLeaseLost", err)
	}
	// Expired (A died), B takes over; A's late writes are refused.
	late := now.Add(51 * time.Second)
	claimOne(t, s, "B", late, "whe_1")
	_, ev, ok, err := s.NextWebhookEvent(ctx, "B", "whe_1", late)
	if err != nil || !ok {
		t.Fatalf("B's next: %v, %v", ok, err)
	}
	d := store.WebhookDelivery{EndpointID: "whe_1", EventID: ev.ID, EventSeq: ev.Seq, EventType: ev.Type, Attempt: 1,
		AttemptedAt: late, StatusCode: 200, Succeeded: true}
	if _, err := s.RecordWebhookAttempt(ctx, "A", now.Add(10*time.Second), store.WebhookAttempt{Delivery: d}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("record by A after the takeover: %v, want ErrLeaseLost", err)
	}
	if err := s.RenewWebhookLease(ctx, "A", "whe_1", now.Add(10*time.Second), ttl); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("renew by A after the takeover: %v, want ErrLeaseLost", err)
	}
	// B's own lease, once expired, refuses B's record too.
	if _, err := s.RecordWebhookAttempt(ctx, "B", late.Add(ttl), store.WebhookAttempt{Delivery: d}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("record by B past its lease: %v, want ErrLeaseLost", err)
	}
	if _, err := s.RecordWebhookAttempt(ctx, "B", late, store.WebhookAttempt{Delivery: d}); err != nil {
		t.Fatal(err)
	}
	if ds, n, _ := s.ListWebhookDeliveries(ctx, "ws_1", "whe_1", store.Page{Limit: 5}); n != 1 || len(ds) != 1 {
		t.Errorf("deliveries: %d, want only B's", n)
	}
	// A disabled endpoint is never claimed.
	mustProject(t, s, "ws_1", "proj_2", at(3))
	if err := s.ReleaseWebhookLease(ctx, "B", "whe_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateWebhookEndpoint(ctx, "ws_1", "whe_1", func(e *store.WebhookEndpoint) error { e.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	claimOne(t, s, "A", late, "")
}

func testWebhookDisable(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustWorkspace(t, s, "ws_1")
	e := mustEndpoint(t, s, newEndpoint("ws_1", "whe_1", at(1)))
	mustProject(t, s, "ws_1", "proj_1", at(2)) // seq 1
	now := time.Now()
	claimOne(t, s, "A", now, "whe_1")
	_, ev, _, err := s.NextWebhookEvent(ctx, "A", "whe_1", now)
	if err != nil {
		t.Fatal(err)
	}
	d := store.WebhookDelivery{EndpointID: "whe_1", EventID: ev.ID, EventSeq: ev.Seq, EventType: ev.Type, Attempt: 8,
		AttemptedAt: now, Error: "connection refused"}
	got, err := s.RecordWebhookAttempt(ctx, "A", now, store.WebhookAttempt{Delivery: d, DisableReason: "8 attempts failed"})
	if err != nil || got.Enabled || got.DisabledReason != "8 attempts failed" || got.DeliveredSeq != 0 {
		t.Fatalf("disabled: %+v, %v", got, err)
	}
	evs := allEvents(t, s, "ws_1")
	if len(evs) != 2 || evs[1].Type != store.EventEndpointDisabled || evs[1].Seq != 2 || evs[1].Data.WebhookEndpoint == nil {
		t.Fatalf("log after the disable: %+v", evs)
	}
	de := evs[1].Data.WebhookEndpoint
	if de.ID != "whe_1" || de.Enabled || de.DisabledReason != "8 attempts failed" || de.Secret != "" || de.URL != e.URL {
		t.Errorf("endpoint.disabled data: %+v", de)
	}
	claimOne(t, s, "A", now, "")
	// Enabled again, it resumes at its cursor with no retry state.
	re, err := s.UpdateWebhookEndpoint(ctx, "ws_1", "whe_1", func(x *store.WebhookEndpoint) error { x.Enabled = true; return nil })
	if err != nil || !re.Enabled || re.DisabledReason != "" || re.FailedAttempts != 0 || re.NextAttemptAt != nil {
		t.Fatalf("re-enabled: %+v, %v", re, err)
	}
	claimOne(t, s, "A", now, "whe_1")
}

// testWebhookConcurrentClaims claims from many goroutines: each endpoint is
// leased once.
func testWebhookConcurrentClaims(t *testing.T, s store.Store) {
	mustWorkspace(t, s, "ws_1")
	for i := range 12 {
		mustEndpoint(t, s, newEndpoint("ws_1", fmt.Sprintf("whe_%02d", i), at(i)))
	}
	mustProject(t, s, "ws_1", "proj_1", at(20))
	ClaimRace(t, []store.WebhookDispatch{s, s, s, s}, 12)
}

// ClaimRace claims from each of stores (several Stores of one database, or
// one Store several times) concurrently, a few endpoints at a time, until
// none is left, and fails unless each of want endpoints was leased exactly
// once.
func ClaimRace(t *testing.T, stores []store.WebhookDispatch, want int) {
	t.Helper()
	now := time.Now()
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("owner-%d", i)
			for {
				got, err := s.ClaimWebhookEndpoints(t.Context(), owner, now, time.Minute, 2)
				if err != nil {
					t.Errorf("claim by %s: %v", owner, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					if prev, ok := seen[e.ID]; ok {
						t.Errorf("%s leased by %s and %s", e.ID, prev, owner)
					}
					seen[e.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != want {
		t.Errorf("%d endpoints leased, want %d", len(seen), want)
	}
}

// testWebhookNoSkipUnderWrites dispatches, caught up and spinning, while
// events are written one at a time, each as soon as the last was
// dispatched (when a dispatcher is most likely to be between its reads):
// every event is returned by NextWebhookEvent once, in order — none
// skipped by a cursor moved to a head that a commit raised meanwhile.
func testWebhookNoSkipUnderWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustWorkspace(t, s, "ws_1")
	mustEndpoint(t, s, newEndpoint("ws_1", "whe_1", at(1)))
	mustProject(t, s, "ws_1", "proj_first", at(0))
	now := time.Now()
	if c, err := s.ClaimWebhookEndpoints(ctx, "A", now, time.Hour, 1); err != nil || len(c) != 1 {
		t.Fatalf("claim: %v, %v", c, err)
	}
	const n = 100
	seqs := make(chan int64, n+1)
	stop := make(chan struct{})
	dispatched := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				dispatched <- nil
				return
			default:
			}
			_, ev, ok, err := s.NextWebhookEvent(ctx, "A", "whe_1", now)
			if err != nil {
				dispatched <- err
				return
			}
			if !ok {
				continue
			}
			d := store.WebhookDelivery{EndpointID: "whe_1", EventID: ev.ID, EventSeq: ev.Seq, EventType: ev.Type,
				Attempt: 1, AttemptedAt: now, StatusCode: 200, Succeeded: true}
			if _, err := s.RecordWebhookAttempt(ctx, "A", now, store.WebhookAttempt{Delivery: d}); err != nil {
				dispatched <- err
				return
			}
			seqs <- ev.Seq
		}
	}()
	defer func() {
		close(stop)
		if err := <-dispatched; err != nil {
			t.Errorf("dispatcher: %v", err)
		}
	}()
	for i := range n {
		select {
		case seq := <-seqs:
			if seq != int64(i+1) {
				t.Fatalf("dispatched seq %d, want %d", seq, i+1)
			}
		case <-time.After(10 * time.Second):
			e, _ := s.GetWebhookEndpoint(ctx, "ws_1", "whe_1")
			t.Fatalf("seq %d never dispatched; the cursor is at %d", i+1, e.DeliveredSeq)
		}
		if i+1 < n {
			mustProject(t, s, "ws_1", fmt.Sprintf("proj_%03d", i), at(i))
		}
	}
}

func testWebhookPruneDeliveries(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustWorkspace(t, s, "ws_1")
	mustEndpoint(t, s, newEndpoint("ws_1", "whe_1", at(0)))
	mustEndpoint(t, s, newEndpoint("ws_1", "whe_2", at(0)))
	for i, ep := range []string{"whe_1", "whe_2", "whe_1"} {
		if _, err := s.RecordManualWebhookDelivery(ctx, store.WebhookDelivery{WorkspaceID: "ws_1", EndpointID: ep,
			EventID: "evt_x", EventType: "ping", Attempt: 1, AttemptedAt: at(10 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []int{2, 0} {
		n, err := s.PruneWebhookDeliveries(ctx, at(12), 2)
		if err != nil || n != want {
			t.Fatalf("prune %d: %d, %v; want %d", i, n, err, want)
		}
	}
	ds, total, err := s.ListWebhookDeliveries(ctx, "ws_1", "whe_1", store.Page{Limit: 5})
	if err != nil || total != 1 || len(ds) != 1 || !ds[0].AttemptedAt.Equal(at(12)) {
		t.Errorf("left: %+v, %d, %v; want the attempt at(12)", ds, total, err)
	}
}
