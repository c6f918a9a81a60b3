package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/webhook"
	"github.com/example/workspace/store"
	"github.com/example/workspace/store/postgres/pgtest"
)

// Webhook delivery, end to end: real servers, a real receiver on loopback
// (so the servers run with --webhook-allow-private, except where the
// address rule is under test), signatures verified by the npm
// standardwebhooks package.

// delivery is one request the receiver got.
type delivery struct {
	header http.Header
	body   []byte
	id     string
	seq    int64
	typ    string
	status int // what the receiver answered
}

// receiver is a webhook endpoint on 127.0.0.1. answer decides each
// request's status from its index (0 first) and the delivery.
type receiver struct {
	url    string
	mu     sync.Mutex
	got    []delivery
	answer func(n int, d delivery) int
	// hold, when set, keeps requests open until it is closed.
	hold    chan struct{}
	arrived chan struct{} // a value per request, before it is held
}

func newReceiver(t *testing.T, answer func(n int, d delivery) int) *receiver {
	t.Helper()
	r := &receiver{answer: answer, arrived: make(chan struct{}, 1000)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.url = "http://" + l.Addr().String() + "/hook"
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	d := delivery{header: req.Header.Clone(), body: body}
	var ev struct {
		ID   string `json:"id"`
		Seq  string `json:"seq"`
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &ev)
	d.id, d.typ = ev.ID, ev.Type
	d.seq, _ = strconv.ParseInt(ev.Seq, 10, 64)
	r.mu.Lock()
	n := len(r.got)
	hold := r.hold
	d.status = r.answer(n, d)
	r.got = append(r.got, d)
	r.mu.Unlock()
	r.arrived <- struct{}{}
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
			return
		}
	}
	w.WriteHeader(d.status)
	fmt.Fprintf(w, "answer %d", d.status)
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// succeeded returns the deliveries answered 2xx, in arrival order.
func (r *receiver) succeeded() []delivery {
	var out []delivery
	for _, d := range r.deliveries() {
		if d.status < 300 {
			out = append(out, d)
		}
	}
	return out
}

func always(status int) func(int, delivery) int { return func(int, delivery) int { return status } }

// fastWebhooks are the delivery settings of these tests: retries in
// milliseconds, a short poll and lease, private addresses allowed.
func fastWebhooks(schedule ...time.Duration) servertest.Config {
	return func(c *server.Config) {
		c.WebhookAllowPrivate = true
		c.WebhookRetrySchedule = schedule
		c.WebhookPollInterval = 50 * time.Millisecond
		c.WebhookLeaseTTL = 2 * time.Second
	}
}

// createEndpoint creates an endpoint through the API and returns its id
// and secret.
func createEndpoint(t *testing.T, env *servertest.Env, key, url string, types ...string) (id, secret string) {
	t.Helper()
	tj, _ := json.Marshal(types)
	r := env.REST("POST", "/v1/webhook-endpoints", key, fmt.Sprintf(`{"url":%q,"event_types":%s}`, url, tj))
	if r.Status != 200 && r.Status != 201 {
		t.Fatalf("create endpoint: %d %s", r.Status, r.Body)
	}
	data, _ := r.JSON(t)["data"].(map[string]any)
	id, _ = data["id"].(string)
	secret, _ = data["secret"].(string)
	if id == "" || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("create endpoint: %s", r.Body)
	}
	return id, secret
}

// listDeliveries reads an endpoint's attempts through the API, newest first.
func listDeliveries(t *testing.T, env *servertest.Env, key, id string) []map[string]any {
	t.Helper()
	r := env.REST("GET", "/v1/webhook-endpoints/"+id+"/deliveries?limit=100", key, "")
	if r.Status != 200 {
		t.Fatalf("list deliveries: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, d := range r.JSON(t)["data"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// logEvents reads the workspace's log after seq through the API: ids,
// types and the events as rendered.
func logEvents(t *testing.T, env *servertest.Env, key string, after int64) (ids []string, types []string, bodies []map[string]any) {
	t.Helper()
	r := env.REST("GET", fmt.Sprintf("/v1/events?limit=100&after=%d", after), key, "")
	if r.Status != 200 {
		t.Fatalf("list events: %d %s", r.Status, r.Body)
	}
	for _, e := range r.JSON(t)["data"].([]any) {
		m := e.(map[string]any)
		ids = append(ids, m["id"].(string))
		types = append(types, m["type"].(string))
		bodies = append(bodies, m)
	}
	return ids, types, bodies
}

var npmOnce sync.Once

// verifyStandard verifies each delivery with the npm standardwebhooks
// package (an independent implementation) and secret, returning "ok" or
// its error for each.
func verifyStandard(t *testing.T, secret string, ds []delivery) []string {
	t.Helper()
	dir, err := filepath.Abs("../service/webhook/testdata/standardwebhooks")
	if err != nil {
		t.Fatal(err)
	}
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	})
	var in strings.Builder
	for _, d := range ds {
		h := map[string]string{}
		for _, k := range []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature} {
			h[k] = d.header.Get(k)
		}
		line, _ := json.Marshal(map[string]any{"secret": secret, "headers": h, "body": string(d.body)})
		in.Write(line)
		in.WriteByte('\n')
	}
	cmd := exec.Command("node", "verify.mjs")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v", err)
	}
	var res []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		res = append(res, sc.Text())
	}
	if len(res) != len(ds) {
		t.Fatalf("verify.mjs answered %d lines for %d deliveries: %s", len(res), len(ds), out)
	}
	return res
}

func checkVerified(t *testing.T, secret string, ds []delivery) {
	t.Helper()
	for i, r := range verifyStandard(t, secret, ds) {
		if r != "ok" {
			t.Errorf("delivery %d (%s): standardwebhooks says %s", i, ds[i].id, r)
		}
	}
}

// TestWebhookRetriesThenInOrder: the receiver answers 500 for a while, then
// 200; every event arrives afterwards, in seq order, none lost, each body
// exactly the event as GET /v1/events renders it and signed (verified by
// standardwebhooks); the failed attempts are in the deliveries list.
func TestWebhookRetriesThenInOrder(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		rcv := newReceiver(t, func(n int, _ delivery) int {
			if n < 4 {
				return 500
			}
			return 200
		})
		base := headSeq(t, env)
		id, secret := createEndpoint(t, env, env.AdminKey, rcv.url)
		const n = 6
		for i := range n {
			createProject(t, env, env.AdminKey, fmt.Sprintf("p%d", i))
		}
		waitUntil(t, "every event delivered", func() bool { return len(rcv.succeeded()) >= n })
		ok := rcv.succeeded()
		ids, _, bodies := logEvents(t, env, env.AdminKey, base)
		if len(ok) != n || len(ids) != n {
			t.Fatalf("%d deliveries succeeded, %d events logged; want %d", len(ok), len(ids), n)
		}
		for i, d := range ok {
			if d.id != ids[i] || d.header.Get(webhook.HeaderID) != ids[i] || d.seq != base+int64(i+1) {
				t.Errorf("success %d: event %s seq %d, want %s seq %d", i, d.id, d.seq, ids[i], base+int64(i+1))
			}
			want, _ := json.Marshal(bodies[i])
			var got map[string]any
			_ = json.Unmarshal(d.body, &got)
			gotJSON, _ := json.Marshal(got)
			if string(gotJSON) != string(want) {
				t.Errorf("body %d:\n got %s\nwant %s", i, d.body, want)
			}
			if d.header.Get("Content-Type") != "application/json" || d.header.Get("User-Agent") != webhook.UserAgent {
				t.Errorf("headers %v", d.header)
			}
		}
		// Every request, failed or not, was for the first event not yet
		// delivered: in order, one at a time.
		next := base + 1
		for i, d := range rcv.deliveries() {
			if d.seq != next {
				t.Errorf("request %d: seq %d, want %d", i, d.seq, next)
			}
			if d.status < 300 {
				next++
			}
		}
		checkVerified(t, secret, rcv.deliveries())
		ds := listDeliveries(t, env, env.AdminKey, id)
		failed := 0
		for _, d := range ds {
			if fmt.Sprint(d["status_code"]) == "500" {
				failed++
				if d["succeeded"] != false || d["next_retry_at"] == nil || !strings.Contains(fmt.Sprint(d["response_excerpt"]), "answer 500") {
					t.Errorf("failed attempt listed as %v", d)
				}
			}
		}
		if len(ds) != n+4 || failed != 4 {
			t.Errorf("deliveries list: %d attempts, %d failed; want %d, 4", len(ds), failed, n+4)
		}
	}, fastWebhooks(20*time.Millisecond, 20*time.Millisecond, 20*time.Millisecond, 20*time.Millisecond, 20*time.Millisecond))
}

// TestWebhookDisabledAfterLastRetry: retries exhausted → the endpoint is
// disabled with its reason, endpoint.disabled is in the log, later events
// are not sent.
func TestWebhookDisabledAfterLastRetry(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		rcv := newReceiver(t, always(503))
		base := headSeq(t, env)
		id, _ := createEndpoint(t, env, env.AdminKey, rcv.url)
		createProject(t, env, env.AdminKey, "doomed")
		var ep map[string]any
		waitUntil(t, "endpoint disabled", func() bool {
			r := env.REST("GET", "/v1/webhook-endpoints/"+id, env.AdminKey, "")
			ep, _ = r.JSON(t)["data"].(map[string]any)
			return ep != nil && ep["enabled"] == false
		})
		if reason := fmt.Sprint(ep["disabled_reason"]); !strings.Contains(reason, "3 attempts") || !strings.Contains(reason, "HTTP 503") {
			t.Errorf("disabled_reason %q", reason)
		}
		_, types, bodies := logEvents(t, env, env.AdminKey, base)
		if len(types) != 2 || types[1] != store.EventEndpointDisabled {
			t.Fatalf("log: %q, want project.created then endpoint.disabled", types)
		}
		data := bodies[1]["data"].(map[string]any)
		if data["id"] != id || data["enabled"] != false || data["secret"] != nil {
			t.Errorf("endpoint.disabled data: %v", data)
		}
		if got := len(rcv.deliveries()); got != 3 {
			t.Errorf("%d attempts, want 3 (the first and two retries)", got)
		}
		if ds := listDeliveries(t, env, env.AdminKey, id); len(ds) != 3 || ds[0]["next_retry_at"] != nil {
			t.Errorf("deliveries: %v", ds)
		}
	}, fastWebhooks(10*time.Millisecond, 10*time.Millisecond))
}

// TestWebhookSSRFAtDelivery: without --webhook-allow-private, deliveries to
// names and addresses that resolve to loopback, private or metadata
// addresses are refused when connecting (the endpoints are stored directly,
// as if their names had resolved elsewhere at creation: DNS rebinding).
func TestWebhookSSRFAtDelivery(t *testing.T) {
	rcv := newReceiver(t, always(200))
	port := rcv.url[strings.LastIndex(rcv.url, ":")+1 : strings.LastIndex(rcv.url, "/")]
	env := servertest.Start(t, func(c *server.Config) {
		c.WebhookRetrySchedule = []time.Duration{}
		c.WebhookPollInterval = 50 * time.Millisecond
	})
	st := env.Server.Store()
	urls := []string{"https://localhost:" + port + "/hook", "https://127.0.0.1:" + port + "/hook",
		"https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]:" + port + "/hook"}
	for i, u := range urls {
		_, err := st.CreateWebhookEndpoint(t.Context(), store.WebhookEndpoint{ID: fmt.Sprintf("whe_ssrf%d", i),
			WorkspaceID: env.WorkspaceID, URL: u, Enabled: true, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			CreatedAt: time.Now(), UpdatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
	createProject(t, env, env.AdminKey, "bait")
	for i, u := range urls {
		id := fmt.Sprintf("whe_ssrf%d", i)
		var ds []store.WebhookDelivery
		waitUntil(t, u+" attempted", func() bool {
			ds, _, _ = st.ListWebhookDeliveries(t.Context(), env.WorkspaceID, id, store.Page{Limit: 5})
			return len(ds) > 0
		})
		if ds[0].Succeeded || ds[0].StatusCode != 0 || !strings.Contains(ds[0].Error, "loopback, private, link-local or metadata") {
			t.Errorf("%s: attempt %+v, want refused by the address rule", u, ds[0])
		}
	}
	if n := len(rcv.deliveries()); n != 0 {
		t.Errorf("the receiver on loopback got %d requests", n)
	}
}

// TestWebhookSecretRotation: during the overlap, a delivery carries two
// signatures, and each verifies with its own secret alone.
func TestWebhookSecretRotation(t *testing.T) {
	env := servertest.Start(t, fastWebhooks(time.Millisecond))
	rcv := newReceiver(t, always(204))
	id, oldSecret := createEndpoint(t, env, env.AdminKey, rcv.url)
	r := env.REST("POST", "/v1/webhook-endpoints/"+id+":rotateSecret", env.AdminKey, `{}`)
	if r.Status != 200 {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	newSecret, _ := r.JSON(t)["data"].(map[string]any)["secret"].(string)
	if !strings.HasPrefix(newSecret, "whsec_") || newSecret == oldSecret {
		t.Fatalf("rotated secret %q", newSecret)
	}
	createProject(t, env, env.AdminKey, "signed twice")
	waitUntil(t, "delivered", func() bool { return len(rcv.succeeded()) == 1 })
	d := rcv.succeeded()
	if sigs := strings.Fields(d[0].header.Get(webhook.HeaderSignature)); len(sigs) != 2 {
		t.Fatalf("signatures %q, want two", sigs)
	}
	checkVerified(t, oldSecret, d)
	checkVerified(t, newSecret, d)
	if res := verifyStandard(t, "whsec_"+strings.Repeat("A", 32), d); res[0] == "ok" {
		t.Error("a delivery verified with an unrelated secret")
	}
	// The Prometheus series, on the admin listener, once the attempt is
	// recorded (the receiver sees it before the worker does).
	wants := []string{`workspace_webhook_attempts_total{outcome="success"} 1`,
		`workspace_webhook_delivery_seconds_count 1`, `workspace_webhook_endpoint_lag_events{endpoint_id="` + id + `"} 0`}
	var body []byte
	waitUntil(t, "webhook series on /metrics", func() bool {
		resp, err := http.Get(env.AdminURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, want := range wants {
			if !strings.Contains(string(body), want) {
				return false
			}
		}
		return true
	})
}

// TestWebhookReplicasOnce: two servers on one PostgreSQL, events written
// through both: each reaches the receiver exactly once.
func TestWebhookReplicasOnce(t *testing.T) {
	db := pgtest.NewDatabase(t)
	withDB := func(c *server.Config) { c.Database = db }
	first := servertest.Start(t, withDB, fastWebhooks(10*time.Millisecond))
	second := startReplica(t, db, fastWebhooks(10*time.Millisecond))
	rcv := newReceiver(t, always(200))
	base := headSeq(t, first)
	createEndpoint(t, first, first.AdminKey, rcv.url)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		base := first.BaseURL
		if i%2 == 1 {
			base = "http://" + second.HTTPAddr()
		}
		wg.Go(func() { postProject(t, base, first.AdminKey, fmt.Sprintf("p%d", i)) })
	}
	wg.Wait()
	waitUntil(t, "every event delivered", func() bool { return len(rcv.deliveries()) >= n })
	ids, _, _ := logEvents(t, first, first.AdminKey, base)
	got := rcv.deliveries()
	seen := map[string]int{}
	for i, d := range got {
		seen[d.id]++
		if d.seq != base+int64(i+1) {
			t.Errorf("request %d: seq %d, want %d (in order)", i, d.seq, base+int64(i+1))
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("event %s received %d times", id, seen[id])
		}
	}
	if len(got) != n {
		t.Errorf("%d requests for %d events", len(got), n)
	}
}

// headSeq is the workspace's last seq, read through the API.
func headSeq(t *testing.T, env *servertest.Env) int64 {
	t.Helper()
	ids, _, bodies := logEvents(t, env, env.AdminKey, 0)
	if len(ids) == 0 {
		return 0
	}
	seq, _ := strconv.ParseInt(bodies[len(bodies)-1]["seq"].(string), 10, 64)
	return seq
}

// postProject creates a project through the REST root base.
func postProject(t *testing.T, base, key, name string) {
	req, _ := http.NewRequest("POST", base+"/v1/projects", strings.NewReader(`{"name":"`+name+`"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("create project: %v", err)
		return
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("create project through %s: %d", base, resp.StatusCode)
	}
}

// TestWebhookInFlightBound: with more endpoints than a server's 16 attempts
// in flight, all held open by the receiver, 16 are open at once and never
// more; released, every endpoint gets its event.
func TestWebhookInFlightBound(t *testing.T) {
	env := servertest.Start(t, fastWebhooks(time.Millisecond))
	release := make(chan struct{})
	var mu sync.Mutex
	open, maxOpen, total := 0, 0, 0
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		open++
		total++
		maxOpen = max(maxOpen, open)
		mu.Unlock()
		<-release
		mu.Lock()
		open--
		mu.Unlock()
		w.WriteHeader(200)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	const endpoints = 20
	for range endpoints {
		createEndpoint(t, env, env.AdminKey, "http://"+l.Addr().String()+"/hook")
	}
	createProject(t, env, env.AdminKey, "to everyone")
	waitUntil(t, "16 attempts open", func() bool { mu.Lock(); defer mu.Unlock(); return open == 16 })
	close(release)
	waitUntil(t, "every endpoint served", func() bool { mu.Lock(); defer mu.Unlock(); return total == endpoints })
	mu.Lock()
	defer mu.Unlock()
	if maxOpen != 16 {
		t.Errorf("at most %d attempts open at once, want 16", maxOpen)
	}
}

// TestWebhookDeliveriesPruned: attempts are pruned a week after the
// events' retention.
func TestWebhookDeliveriesPruned(t *testing.T) {
	var aged atomic.Int64
	env := servertest.Start(t, fastWebhooks(time.Millisecond), func(c *server.Config) {
		c.EventRetention = time.Hour
		c.EventPruneInterval = 5 * time.Millisecond
		c.EventClock = func() time.Time {
			if at := aged.Load(); at != 0 {
				return time.Unix(0, at).Add(time.Hour + 7*24*time.Hour)
			}
			return time.Now()
		}
	})
	rcv := newReceiver(t, always(200))
	id, _ := createEndpoint(t, env, env.AdminKey, rcv.url)
	createProject(t, env, env.AdminKey, "old")
	waitUntil(t, "an attempt stored", func() bool { return len(listDeliveries(t, env, env.AdminKey, id)) == 1 })
	aged.Store(time.Now().Add(time.Second).UnixNano()) // everything so far is now over a week and an hour old
	waitUntil(t, "the attempt pruned", func() bool { return len(listDeliveries(t, env, env.AdminKey, id)) == 0 })
}
