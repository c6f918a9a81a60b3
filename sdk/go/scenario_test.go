package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/example/sdk"
	"github.com/example/sdk/internal/workspacedtest"
)

var srv *workspacedtest.Server

func TestMain(m *testing.M) {
	var err error
	srv, err = workspacedtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The examples use a workspace of their own, found through the
	// environment as a user's program would.
	_, exampleKey, err := srv.NewWorkspace("Examples", "pro")
	if err != nil {
		srv.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("WORKSPACE_GRPC_ADDR", srv.GRPCAddr)
	os.Setenv("API_KEY", exampleKey)
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

// scenario is sdk/scenario.json.
type scenario struct {
	Project struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"project"`
	TaskTitles []string `json:"task_titles"`
	PageSize   int      `json:"page_size"`
	Update     struct {
		Status string `json:"status"`
	} `json:"update"`
	MissingTaskID string `json:"missing_task_id"`
	ReadOnlyKey   struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	} `json:"read_only_key"`
	FreePlanPerMinute int `json:"free_plan_per_minute"`
	ConditionalUpdate struct {
		Name      string `json:"name"`
		StaleName string `json:"stale_name"`
	} `json:"conditional_update"`
	Lists struct {
		Status       string   `json:"status"`
		Query        string   `json:"query"`
		OrderBy      string   `json:"order_by"`
		PageSize     int      `json:"page_size"`
		Titles       []string `json:"titles"`
		OtherOrderBy string   `json:"other_order_by"`
	} `json:"lists"`
	Webhooks struct {
		Description string   `json:"description"`
		EventTypes  []string `json:"event_types"`
		Tamper      struct {
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"tamper"`
	} `json:"webhooks"`
	Batch struct {
		Titles       []string `json:"titles"`
		InvalidIndex int      `json:"invalid_index"`
	} `json:"batch"`
	Events struct {
		Types         []string `json:"types"`
		PageSize      int      `json:"page_size"`
		Titles        []string `json:"titles"`
		FollowTitle   string   `json:"follow_title"`
		ResumedTitles []string `json:"resumed_titles"`
	} `json:"events"`
}

func loadScenario(t *testing.T) scenario {
	t.Helper()
	b, err := os.ReadFile("../scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	var s scenario
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func newClient(t *testing.T, key string, opts ...sdk.Option) *sdk.Client {
	t.Helper()
	c, err := sdk.New(srv.GRPCAddr, key, append([]sdk.Option{sdk.WithInsecure()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func apiError(t *testing.T, err error, status codes.Code, code string) *sdk.Error {
	t.Helper()
	var e *sdk.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *sdk.Error", err, err)
	}
	if e.Status != status || e.Code != code || e.Message == "" || e.Details == nil || e.RequestID == "" {
		t.Fatalf("error %+v, want status %v code %s with a message, details and request id", e, status, code)
	}
	return e
}

// TestScenario is sdk/SCENARIO.md.
func TestScenario(t *testing.T) {
	sc := loadScenario(t)
	ctx := context.Background()
	c := newClient(t, srv.AdminKey)

	// 1. Create a project.
	p, err := c.Projects.Create(ctx, sc.Project.Name, sc.Project.Description)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.GetId(), "proj_") || p.GetName() != sc.Project.Name {
		t.Fatalf("project %v", p)
	}

	// 2. Create tasks.
	var created []string
	for _, title := range sc.TaskTitles {
		task, err := c.Tasks.Create(ctx, sdk.NewTask{ProjectID: p.GetId(), Title: title})
		if err != nil {
			t.Fatal(err)
		}
		if task.GetStatus() != "todo" {
			t.Fatalf("new task status %q", task.GetStatus())
		}
		created = append(created, task.GetId())
	}

	// 3. Page through them: newest first, each once.
	var got []string
	for task, err := range c.Tasks.All(ctx, sdk.TaskFilter{ProjectID: p.GetId()}, sc.PageSize) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, task.GetId())
	}
	if len(got) != len(created) {
		t.Fatalf("paged %d tasks, want %d", len(got), len(created))
	}
	for i := range got {
		if got[i] != created[len(created)-1-i] {
			t.Fatalf("page order %v, want the reverse of %v", got, created)
		}
	}
	page, pg, err := c.Tasks.List(ctx, sdk.TaskFilter{ProjectID: p.GetId()}, &sdk.ListOptions{Limit: sc.PageSize})
	if err != nil || len(page) != sc.PageSize || pg.GetTotal() != int32(len(created)) || !pg.GetHasMore() {
		t.Fatalf("first page: %d items, %v, %v", len(page), pg, err)
	}

	// 4. The seed's PUT: {"status":"completed"}.
	id := created[0]
	updated, err := c.Tasks.Update(ctx, id, &sdk.TaskUpdate{Status: proto.String(sc.Update.Status)})
	if err != nil {
		t.Fatal(err)
	}
	if updated.GetStatus() != "completed" || updated.GetCompletedAt() == nil || updated.GetTitle() != sc.TaskTitles[0] {
		t.Fatalf("updated task %v", updated)
	}

	// 5. Delete it.
	if err := c.Tasks.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}

	// 6. 404.
	_, err = c.Tasks.Get(ctx, id)
	apiError(t, err, codes.NotFound, sdk.CodeNotFound)
	_, err = c.Tasks.Get(ctx, sc.MissingTaskID)
	apiError(t, err, codes.NotFound, sdk.CodeNotFound)

	// 7. 403 with a read-only key made through the API.
	k, err := c.APIKeys.Create(ctx, sc.ReadOnlyKey.Name, sc.ReadOnlyKey.Scopes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.GetKey(), "wsk_") {
		t.Fatalf("created key has no secret: %v", k)
	}
	ro := newClient(t, k.GetKey())
	if _, _, err := ro.Projects.List(ctx, nil); err != nil {
		t.Fatalf("read-only list: %v", err)
	}
	_, err = ro.Projects.Create(ctx, "nope", "")
	e := apiError(t, err, codes.PermissionDenied, sdk.CodeForbidden)
	if e.Details["required_scope"] != "write" {
		t.Fatalf("403 details %v", e.Details)
	}

	// 8. 429 on a fresh free workspace.
	_, freeKey, err := srv.NewWorkspace("Scenario free", "free")
	if err != nil {
		t.Fatal(err)
	}
	noRetry := newClient(t, freeKey, sdk.WithRetries(0, 0))
	var limited *sdk.Error
	for i := 0; i < 2*sc.FreePlanPerMinute+5 && limited == nil; i++ {
		if _, err := noRetry.Workspace.Get(ctx); err != nil {
			limited = apiError(t, err, codes.ResourceExhausted, sdk.CodeRateLimited)
		}
	}
	if limited == nil {
		t.Fatal("never rate limited")
	}
	now := time.Now()
	rl := limited.RateLimit
	if limited.Details["window"] != "minute" || rl.Limit != sc.FreePlanPerMinute || rl.Remaining != 0 ||
		rl.Reset.Before(now.Add(-time.Second)) || rl.Reset.After(now.Add(61*time.Second)) ||
		rl.RetryAfter < time.Second || rl.RetryAfter > 60*time.Second || !limited.IsRateLimited() {
		t.Fatalf("429: %+v", limited)
	}
	// With retries on but a budget shorter than the wait: at once.
	short := newClient(t, freeKey, sdk.WithRetries(3, 0))
	start := time.Now()
	_, err = short.Workspace.Get(ctx)
	apiError(t, err, codes.ResourceExhausted, sdk.CodeRateLimited)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a retry beyond the budget waited %v", d)
	}

	// 9. Conditional update (ETag): with the project's current etag it
	// succeeds and the etag changes; with the one it had, now stale, it fails
	// and changes nothing.
	read, err := c.Projects.Get(ctx, p.GetId())
	if err != nil {
		t.Fatal(err)
	}
	first := read.GetEtag()
	if first == "" || first != p.GetEtag() {
		t.Fatalf("etag of the project: got %q, created with %q", first, p.GetEtag())
	}
	renamed, err := c.Projects.Update(ctx, p.GetId(), &sdk.ProjectUpdate{Name: proto.String(sc.ConditionalUpdate.Name)}, sdk.IfMatch(first))
	if err != nil {
		t.Fatal(err)
	}
	if renamed.GetName() != sc.ConditionalUpdate.Name || renamed.GetEtag() == first || renamed.GetEtag() == "" {
		t.Fatalf("conditional update: %v", renamed)
	}
	_, err = c.Projects.Update(ctx, p.GetId(), &sdk.ProjectUpdate{Name: proto.String(sc.ConditionalUpdate.StaleName)}, sdk.IfMatch(first))
	apiError(t, err, codes.FailedPrecondition, sdk.CodePreconditionFailed)
	if after, err := c.Projects.Get(ctx, p.GetId()); err != nil || after.GetName() != sc.ConditionalUpdate.Name || after.GetEtag() != renamed.GetEtag() {
		t.Fatalf("after the stale update: %v, %v", after, err)
	}
	// 10. Lists: filters, order, cursors.
	lf := sdk.TaskFilter{ProjectID: p.GetId(), Status: sc.Lists.Status, Query: sc.Lists.Query, OrderBy: sc.Lists.OrderBy}
	var titles []string
	for task, err := range c.Tasks.All(ctx, lf, sc.Lists.PageSize) {
		if err != nil {
			t.Fatal(err)
		}
		titles = append(titles, task.GetTitle())
	}
	if !slices.Equal(titles, sc.Lists.Titles) {
		t.Fatalf("lists: %q, want %q", titles, sc.Lists.Titles)
	}
	_, lpg, err := c.Tasks.List(ctx, lf, &sdk.ListOptions{Limit: sc.Lists.PageSize})
	if err != nil || lpg.GetNextCursor() == "" {
		t.Fatalf("lists: first page %v, %v; want a next cursor", lpg, err)
	}
	other := lf
	other.OrderBy = sc.Lists.OtherOrderBy
	_, _, err = c.Tasks.List(ctx, other, &sdk.ListOptions{Limit: sc.Lists.PageSize, Cursor: lpg.GetNextCursor()})
	if e := apiError(t, err, codes.InvalidArgument, sdk.CodeValidation); e.Details["field"] != "cursor" {
		t.Fatalf("lists: a cursor with another order: details %v", e.Details)
	}
	// 11. Batch create: in order, all or nothing.
	var batch []sdk.NewTask
	for _, title := range sc.Batch.Titles {
		batch = append(batch, sdk.NewTask{ProjectID: p.GetId(), Title: title})
	}
	made, err := c.Tasks.BatchCreate(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != len(sc.Batch.Titles) {
		t.Fatalf("batch made %d tasks, want %d", len(made), len(sc.Batch.Titles))
	}
	ids := map[string]bool{}
	for i, task := range made {
		if task.GetTitle() != sc.Batch.Titles[i] || task.GetStatus() != "todo" || !strings.HasPrefix(task.GetId(), "task_") || ids[task.GetId()] {
			t.Fatalf("batch task %d: %v", i, task)
		}
		ids[task.GetId()] = true
	}
	_, pg, err = c.Tasks.List(ctx, sdk.TaskFilter{ProjectID: p.GetId()}, &sdk.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	total := pg.GetTotal()
	if want := int32(len(created) - 1 + len(made)); total != want {
		t.Fatalf("project holds %d tasks after the batch, want %d", total, want)
	}
	batch[sc.Batch.InvalidIndex].Title = " "
	_, err = c.Tasks.BatchCreate(ctx, batch)
	e = apiError(t, err, codes.InvalidArgument, sdk.CodeValidation)
	if want := fmt.Sprintf("tasks[%d].title", sc.Batch.InvalidIndex); e.Details["field"] != want {
		t.Fatalf("invalid batch: details %v, want field %s", e.Details, want)
	}
	if _, pg, err = c.Tasks.List(ctx, sdk.TaskFilter{ProjectID: p.GetId()}, &sdk.ListOptions{Limit: 1}); err != nil || pg.GetTotal() != total {
		t.Fatalf("after the refused batch: %v, %v; want total %d", pg, err, total)
	}
	batchSeq := c.LastEventSeq()

	// 12. Events: (a) the log's task.created, every page, oldest first.
	var evTitles []string
	var last int64
	for e, err := range c.Events.All(ctx, sdk.EventFilter{Types: sc.Events.Types}, sc.Events.PageSize) {
		if err != nil {
			t.Fatal(err)
		}
		if e.GetType() != "task.created" || e.GetSeq() <= last || !strings.HasPrefix(e.GetId(), "evt_") || e.GetCreatedAt() == nil {
			t.Fatalf("event after seq %d: %v", last, e)
		}
		last = e.GetSeq()
		evTitles = append(evTitles, e.GetData().GetFields()["title"].GetStringValue())
	}
	if !slices.Equal(evTitles, sc.Events.Titles) {
		t.Fatalf("events: titles %q, want %q", evTitles, sc.Events.Titles)
	}
	if batchSeq != last {
		t.Fatalf("events: the batch's x-event-seq is %d, its last event's seq %d", batchSeq, last)
	}

	// (b) Follow after it, through a proxy the test can cut.
	proxy, err := workspacedtest.NewProxy(srv.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	fc, err := sdk.New(proxy.Addr(), srv.AdminKey, sdk.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second) // the deadline of every wait below
	defer cancel()
	connects := 0
	next, stop := iter.Pull2(fc.Events.Follow(fctx, sdk.EventFilter{After: last},
		sdk.WithReconnectDelay(50*time.Millisecond, time.Second), sdk.OnConnect(func() { connects++ })))
	defer stop()
	createAndReceive := func(titles ...string) {
		t.Helper()
		seqs := make([]int64, len(titles))
		for i, title := range titles {
			if _, err := c.Tasks.Create(sdk.WithEventSeq(ctx, &seqs[i]), sdk.NewTask{ProjectID: p.GetId(), Title: title}); err != nil {
				t.Fatal(err)
			}
		}
		for i, title := range titles {
			e, err, ok := next()
			if err != nil || !ok {
				t.Fatalf("follow: waiting for %q: %v (stream open: %v)", title, err, ok)
			}
			if e.GetType() != "task.created" || e.GetSeq() != seqs[i] || e.GetData().GetFields()["title"].GetStringValue() != title {
				t.Fatalf("follow: got %v, want the task.created of %q at seq %d", e, title, seqs[i])
			}
		}
	}
	createAndReceive(sc.Events.FollowTitle)
	if connects != 1 {
		t.Fatalf("follow: %d connects before the drop", connects)
	}

	// (c) A network drop while the follower holds its event; two tasks
	// meanwhile; asked for more, it reconnects after its last seq.
	proxy.Drop()
	createAndReceive(sc.Events.ResumedTitles...)
	if connects < 2 || proxy.Accepted() < 2 {
		t.Fatalf("follow: %d stream opens, %d proxied connections; want a reconnect", connects, proxy.Accepted())
	}

	// 13. Webhooks: a receiver on loopback, a signed ping, a tampered body refused.
	type received struct {
		header http.Header
		body   []byte
	}
	inbox := make(chan received, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		inbox <- received{r.Header.Clone(), b}
	}))
	defer recv.Close()
	ep, err := c.Webhooks.Create(ctx, sdk.NewWebhookEndpoint{URL: recv.URL + "/hook", Description: sc.Webhooks.Description, EventTypes: sc.Webhooks.EventTypes})
	if err != nil || !strings.HasPrefix(ep.GetId(), "whe_") || !strings.HasPrefix(ep.GetSecret(), "whsec_") {
		t.Fatalf("webhooks: create %v, %v", ep, err)
	}
	if g, err := c.Webhooks.Get(ctx, ep.GetId()); err != nil || g.Secret != nil || g.GetDescription() != sc.Webhooks.Description {
		t.Fatalf("webhooks: get %v, %v; want no secret", g, err)
	}
	ping := func() received {
		t.Helper()
		d, err := c.Webhooks.Test(ctx, ep.GetId())
		if err != nil || !d.GetSucceeded() || d.GetEventType() != "ping" || d.GetStatusCode() != 200 {
			t.Fatalf("webhooks: test %v, %v", d, err)
		}
		// The test answers after its attempt: the request is here.
		select {
		case r := <-inbox:
			if r.header.Get("webhook-id") != d.GetEventId() {
				t.Fatalf("webhooks: webhook-id %q, attempt's event %q", r.header.Get("webhook-id"), d.GetEventId())
			}
			return r
		default:
			t.Fatal("webhooks: the receiver got no ping")
		}
		return received{}
	}
	r := ping()
	if err := sdk.VerifyWebhook(ep.GetSecret(), r.header, r.body); err != nil {
		t.Fatalf("webhooks: the ping does not verify: %v", err)
	}
	tampered := []byte(strings.Replace(string(r.body), sc.Webhooks.Tamper.From, sc.Webhooks.Tamper.To, 1))
	var we *sdk.WebhookError
	if err := sdk.VerifyWebhook(ep.GetSecret(), r.header, tampered); !errors.As(err, &we) || !errors.Is(err, sdk.ErrWebhookSignature) {
		t.Fatalf("webhooks: a tampered body: %v, want ErrWebhookSignature", err)
	}
	// A rotation: for 24 hours deliveries verify with either secret.
	rot, err := c.Webhooks.RotateSecret(ctx, ep.GetId())
	if err != nil || rot.GetSecret() == ep.GetSecret() || rot.GetPreviousSecretExpiresAt() == nil {
		t.Fatalf("webhooks: rotate %v, %v", rot, err)
	}
	r = ping()
	for _, s := range []string{rot.GetSecret(), ep.GetSecret()} {
		if err := sdk.VerifyWebhook(s, r.header, r.body); err != nil {
			t.Fatalf("webhooks: a ping during the overlap does not verify with one secret: %v", err)
		}
	}
	ds, dpg, err := c.Webhooks.Deliveries(ctx, ep.GetId(), &sdk.ListOptions{Limit: 10})
	if err != nil || len(ds) != 2 || dpg.GetTotal() != 2 || !ds[0].GetManual() {
		t.Fatalf("webhooks: deliveries %v, %v", ds, err)
	}
	if err := c.Webhooks.Delete(ctx, ep.GetId()); err != nil {
		t.Fatalf("webhooks: delete: %v", err)
	}
}
