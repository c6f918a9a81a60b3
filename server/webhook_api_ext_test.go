package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// allowPrivate is --webhook-allow-private: tests' receivers are on loopback.
func allowPrivate(c *server.Config) { c.WebhookAllowPrivate = true }

var secretFormat = regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{32}$`)

// whData is the data of a success envelope.
func whData(t *testing.T, r *servertest.Response, want int) map[string]any {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	d, _ := r.JSON(t)["data"].(map[string]any)
	if d == nil {
		t.Fatalf("no data: %s", r.Body)
	}
	return d
}

// whRefusal checks a 400 VALIDATION_ERROR naming field, and returns its message.
func whRefusal(t *testing.T, r *servertest.Response, field string) string {
	t.Helper()
	if r.Status != 400 {
		t.Fatalf("status %d, want 400 naming %s: %s", r.Status, field, r.Body)
	}
	code, msg, details := extRESTError(t, r)
	if f, _ := details["field"].(string); code != "VALIDATION_ERROR" || f != field {
		t.Fatalf("refusal %s %v, want VALIDATION_ERROR naming %s: %s", code, details, field, r.Body)
	}
	return msg
}

func TestWebhookEndpointsCRUD(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		admin := env.AdminKey
		r := env.REST("POST", "/v1/webhook-endpoints", admin,
			`{"url":"http://127.0.0.1:9/hook","description":"CI","event_types":["task.created","task.updated","task.created"]}`)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control of a new endpoint = %q, want no-store", got)
		}
		e := whData(t, r, 201)
		secret, _ := e["secret"].(string)
		if !secretFormat.MatchString(secret) {
			t.Fatalf("secret %q is not whsec_ and the base64 of 24 bytes", secret)
		}
		if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_")); err != nil || len(b) != 24 {
			t.Errorf("secret decodes to %d bytes (%v), want 24", len(b), err)
		}
		id, _ := e["id"].(string)
		if !regexp.MustCompile(`^whe_[0-9A-Za-z]{20}$`).MatchString(id) {
			t.Errorf("id %q", id)
		}
		if e["url"] != "http://127.0.0.1:9/hook" || e["description"] != "CI" || e["enabled"] != true ||
			strings.Join(toList(e["event_types"]), ",") != "task.created,task.updated" ||
			e["disabled_reason"] != "" || e["etag"] != `"1"` || e["previous_secret_expires_at"] != nil {
			t.Errorf("created endpoint = %v", e)
		}
		if e["created_at"] != "2026-03-10T12:00:30Z" || e["updated_at"] != "2026-03-10T12:00:30Z" {
			t.Errorf("times = %v %v", e["created_at"], e["updated_at"])
		}

		// The secret is shown once: never by a get, a list or an update.
		r = env.REST("GET", "/v1/webhook-endpoints/"+id, admin, "")
		got := whData(t, r, 200)
		if _, ok := got["secret"]; ok || r.Header.Get("ETag") != `"1"` {
			t.Errorf("GET: %s (ETag %q)", r.Body, r.Header.Get("ETag"))
		}
		r = env.REST("GET", "/v1/webhook-endpoints?limit=10", admin, "")
		if r.Status != 200 || strings.Contains(string(r.Body), "whsec_") || !strings.Contains(string(r.Body), id) {
			t.Errorf("list: %s", r.Body)
		}
		if tot := r.JSON(t)["pagination"].(map[string]any)["total"]; tot != float64(1) {
			t.Errorf("total = %v", tot)
		}

		// Update: partial, versioned, If-Match like tasks.
		env.Clock.Advance(time.Minute)
		r = env.REST("PATCH", "/v1/webhook-endpoints/"+id, admin, `{"description":"CD","event_types":[]}`, "If-Match", `"2"`)
		if r.Status != 412 {
			t.Fatalf("stale If-Match: %d %s", r.Status, r.Body)
		}
		r = env.REST("PATCH", "/v1/webhook-endpoints/"+id, admin, `{"description":"CD","event_types":[],"enabled":false}`, "If-Match", `"1"`)
		u := whData(t, r, 200)
		if u["description"] != "CD" || len(toList(u["event_types"])) != 0 || u["enabled"] != false || u["url"] != "http://127.0.0.1:9/hook" ||
			u["etag"] != `"2"` || u["updated_at"] != "2026-03-10T12:01:30Z" || u["created_at"] != "2026-03-10T12:00:30Z" {
			t.Errorf("updated = %v", u)
		}
		if _, ok := u["secret"]; ok {
			t.Errorf("update shows the secret: %s", r.Body)
		}
		r = env.REST("PUT", "/v1/webhook-endpoints/"+id, admin, `{"url":"http://127.0.0.1:10/other"}`)
		if u = whData(t, r, 200); u["url"] != "http://127.0.0.1:10/other" || u["description"] != "CD" || u["etag"] != `"3"` {
			t.Errorf("PUT = %v", u)
		}
		r = env.REST("PATCH", "/v1/webhook-endpoints/"+id, admin, `{}`)
		whRefusal(t, r, "")

		// gRPC: the same service, the update mask for an empty list.
		c := workspacev1.NewWebhookServiceClient(env.Conn)
		ctx := env.Ctx(admin)
		up, err := c.UpdateWebhookEndpoint(ctx, &workspacev1.UpdateWebhookEndpointRequest{Id: id,
			WebhookEndpoint: &workspacev1.WebhookEndpointUpdate{EventTypes: []string{"project.created"}, Enabled: proto.Bool(true)}})
		if err != nil || strings.Join(up.GetWebhookEndpoint().GetEventTypes(), ",") != "project.created" || !up.GetWebhookEndpoint().GetEnabled() {
			t.Fatalf("gRPC update: %v %v", up, err)
		}
		up, err = c.UpdateWebhookEndpoint(ctx, &workspacev1.UpdateWebhookEndpointRequest{Id: id,
			WebhookEndpoint: &workspacev1.WebhookEndpointUpdate{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"event_types"}}})
		if err != nil || len(up.GetWebhookEndpoint().GetEventTypes()) != 0 || up.GetWebhookEndpoint().Secret != nil {
			t.Fatalf("gRPC update clearing event_types: %v %v", up, err)
		}
		_, err = c.UpdateWebhookEndpoint(ctx, &workspacev1.UpdateWebhookEndpointRequest{Id: id, Etag: `"1"`,
			WebhookEndpoint: &workspacev1.WebhookEndpointUpdate{Description: proto.String("x")}})
		if status.Code(err) != codes.FailedPrecondition {
			t.Errorf("gRPC stale etag: %v", err)
		}
		cr, err := c.CreateWebhookEndpoint(ctx, &workspacev1.CreateWebhookEndpointRequest{Url: "http://127.0.0.1:11/", Enabled: proto.Bool(false)})
		if err != nil || !secretFormat.MatchString(cr.GetWebhookEndpoint().GetSecret()) || cr.GetWebhookEndpoint().GetEnabled() {
			t.Fatalf("gRPC create: %v %v", cr, err)
		}
		gr, err := c.GetWebhookEndpoint(ctx, &workspacev1.GetWebhookEndpointRequest{Id: cr.GetWebhookEndpoint().GetId()})
		if err != nil || gr.GetWebhookEndpoint().Secret != nil {
			t.Fatalf("gRPC get: %v %v", gr, err)
		}
		lr, err := c.ListWebhookEndpoints(ctx, &workspacev1.ListWebhookEndpointsRequest{Limit: proto.Int32(1)})
		if err != nil || len(lr.GetData()) != 1 || lr.GetData()[0].GetId() != cr.GetWebhookEndpoint().GetId() || lr.NextPageToken == nil {
			t.Fatalf("gRPC list (newest first, one a page): %v %v", lr, err)
		}
		lr, err = c.ListWebhookEndpoints(ctx, &workspacev1.ListWebhookEndpointsRequest{Limit: proto.Int32(1), PageToken: lr.GetNextPageToken()})
		if err != nil || len(lr.GetData()) != 1 || lr.GetData()[0].GetId() != id || lr.NextPageToken != nil {
			t.Fatalf("gRPC list page 2: %v %v", lr, err)
		}

		// Delete, conditional then not.
		r = env.REST("DELETE", "/v1/webhook-endpoints/"+id, admin, "", "If-Match", `"1"`)
		if r.Status != 412 {
			t.Errorf("stale If-Match delete: %d %s", r.Status, r.Body)
		}
		r = env.REST("DELETE", "/v1/webhook-endpoints/"+id, admin, "", "If-Match", `"5"`)
		if d := whData(t, r, 200); d["id"] != id || d["deleted"] != true {
			t.Errorf("delete = %v", d)
		}
		if r = env.REST("GET", "/v1/webhook-endpoints/"+id, admin, ""); r.Status != 404 {
			t.Errorf("GET after delete: %d", r.Status)
		}
		if r = env.REST("DELETE", "/v1/webhook-endpoints/"+id, admin, ""); r.Status != 404 {
			t.Errorf("DELETE again: %d", r.Status)
		}
		if _, err := c.DeleteWebhookEndpoint(ctx, &workspacev1.DeleteWebhookEndpointRequest{Id: cr.GetWebhookEndpoint().GetId()}); err != nil {
			t.Errorf("gRPC delete: %v", err)
		}
		// No secret reached the log.
		if strings.Contains(env.Logs.String(), "whsec_") {
			t.Errorf("a secret was logged")
		}
	}, allowPrivate)
}

func TestWebhookEndpointValidation(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		admin := env.AdminKey
		post := func(body string) *servertest.Response {
			return env.REST("POST", "/v1/webhook-endpoints", admin, body)
		}
		// The SSRF rule and https, with --webhook-allow-private off.
		for _, u := range []string{
			"https://127.0.0.1/hook", "https://127.0.0.1:8443/hook", "https://[::1]/hook",
			"https://10.0.0.8/hook", "https://10.255.1.1:443/", "https://192.168.1.20/", "https://172.16.5.4/",
			"https://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/", "https://100.64.0.1/", "https://0.0.0.0/",
			"https://localhost/hook", "https://localhost.:8443/hook", "https://[::ffff:127.0.0.1]/",
		} {
			msg := whRefusal(t, post(`{"url":"`+u+`"}`), "url")
			if !strings.Contains(msg, "loopback, private, link-local or metadata") {
				t.Errorf("%s: message %q", u, msg)
			}
		}
		if msg := whRefusal(t, post(`{"url":"http://93.184.216.34/hook"}`), "url"); !strings.Contains(msg, "https") {
			t.Errorf("http refused with %q", msg)
		}
		for _, body := range []string{
			`{"url":""}`, `{}`, `{"url":"not a url"}`, `{"url":"/relative"}`, `{"url":"ftp://93.184.216.34/"}`,
			`{"url":"https://user:pw@93.184.216.34/"}`, `{"url":"https://` + strings.Repeat("a", 2040) + `.com/"}`,
			`{"url":"https://93.184.216.34/\u0000"}`,
		} {
			whRefusal(t, post(body), "url")
		}
		whRefusal(t, post(`{"url":"https://93.184.216.34/","event_types":["task.created","task.exploded"]}`), "event_types")
		whRefusal(t, post(`{"url":"https://93.184.216.34/","event_types":["ping"]}`), "event_types")
		whRefusal(t, post(`{"url":"https://93.184.216.34/","description":"`+strings.Repeat("d", 10001)+`"}`), "description")
		// Output-only fields are not the client's to set.
		for _, f := range []string{"secret", "disabled_reason", "previous_secret_expires_at", "etag"} {
			whRefusal(t, post(`{"url":"https://93.184.216.34/","`+f+`":"x"}`), f)
		}

		// A public https address is accepted (no resolution needed), every
		// event type, endpoint.disabled included.
		e := whData(t, post(`{"url":"https://93.184.216.34/hook","event_types":["endpoint.disabled","workspace.updated"]}`), 201)
		id := e["id"].(string)
		whRefusal(t, env.REST("PATCH", "/v1/webhook-endpoints/"+id, admin, `{"url":"https://169.254.169.254/"}`), "url")
		whRefusal(t, env.REST("PATCH", "/v1/webhook-endpoints/"+id, admin, `{"url":"http://93.184.216.34/"}`), "url")
		whRefusal(t, env.REST("PATCH", "/v1/webhook-endpoints/"+id, admin, `{"event_types":["nope"]}`), "event_types")
		whRefusal(t, env.REST("PATCH", "/v1/webhook-endpoints/"+id, admin, `{"secret":"whsec_AAAA"}`), "secret")
		if r := env.REST("GET", "/v1/webhook-endpoints/"+id, admin, ""); whData(t, r, 200)["etag"] != `"1"` {
			t.Errorf("refused updates changed the endpoint: %s", r.Body)
		}
		// Bad ids are 404, as unknown ones.
		for _, p := range []string{"/v1/webhook-endpoints/whe_x", "/v1/webhook-endpoints/proj_AAAAAAAAAAAAAAAAAAAA", "/v1/webhook-endpoints/whe_AAAAAAAAAAAAAAAAAAAA"} {
			if r := env.REST("GET", p, admin, ""); r.Status != 404 {
				t.Errorf("GET %s: %d", p, r.Status)
			}
		}
		if r := env.REST("GET", "/v1/webhook-endpoints/"+id+"/deliveries?limit=0", admin, ""); r.Status != 400 {
			t.Errorf("limit=0: %d", r.Status)
		}
		// Creating refuses an Idempotency-Key: a replay would store the secret.
		r := env.REST("POST", "/v1/webhook-endpoints", admin, `{"url":"https://93.184.216.34/"}`, "Idempotency-Key", "k-1")
		if r.Status != 400 {
			t.Errorf("Idempotency-Key on create: %d %s", r.Status, r.Body)
		}
	})
}

func TestWebhookSecretShownOnceAndRotated(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		admin := env.AdminKey
		e := whData(t, env.REST("POST", "/v1/webhook-endpoints", admin, `{"url":"http://127.0.0.1:9/"}`), 201)
		id, first := e["id"].(string), e["secret"].(string)
		env.Clock.Advance(time.Hour)
		r := env.REST("POST", "/v1/webhook-endpoints/"+id+":rotateSecret", admin, `{}`)
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("rotation Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		rot := whData(t, r, 200)
		second, _ := rot["secret"].(string)
		if !secretFormat.MatchString(second) || second == first {
			t.Fatalf("rotated secret %q (first %q)", second, first)
		}
		if rot["previous_secret_expires_at"] != "2026-03-11T13:00:30Z" || rot["etag"] != `"2"` {
			t.Errorf("rotation = %v", rot)
		}
		// The overlap is visible, the secrets are not.
		g := whData(t, env.REST("GET", "/v1/webhook-endpoints/"+id, admin, ""), 200)
		if _, ok := g["secret"]; ok || g["previous_secret_expires_at"] != "2026-03-11T13:00:30Z" {
			t.Errorf("GET after rotation = %v", g)
		}
		st, err := env.Server.Store().GetWebhookEndpoint(context.Background(), env.WorkspaceID, id)
		if err != nil || st.Secret != second || st.PreviousSecret != first {
			t.Errorf("stored secrets after rotation: %v (err %v)", st.PreviousSecretExpiresAt, err)
		}
		// gRPC rotation: a third secret; the second is now the previous one.
		c := workspacev1.NewWebhookServiceClient(env.Conn)
		rr, err := c.RotateWebhookSecret(env.Ctx(admin), &workspacev1.RotateWebhookSecretRequest{Id: id})
		if err != nil || !secretFormat.MatchString(rr.GetWebhookEndpoint().GetSecret()) || rr.GetWebhookEndpoint().GetSecret() == second {
			t.Fatalf("gRPC rotation: %v %v", rr, err)
		}
		st, _ = env.Server.Store().GetWebhookEndpoint(context.Background(), env.WorkspaceID, id)
		if st.PreviousSecret != second {
			t.Errorf("after a second rotation the previous secret is not the second one")
		}
		if strings.Contains(env.Logs.String(), "whsec_") {
			t.Errorf("a secret was logged")
		}
	}, allowPrivate)
}

// waitDelivery waits (10 s at most) until the receiver got a request that
// ok selects, and returns it.
func waitDelivery(t *testing.T, r *receiver, ok func(delivery) bool) delivery {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, d := range r.deliveries() {
			if ok(d) {
				return d
			}
		}
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("no such delivery within 10 s; got %d requests", len(r.deliveries()))
		}
	}
}

// TestWebhookTestAndRetryAPI: :test sends a signed ping now and answers the
// attempt; :retry re-sends a past attempt's event (same webhook-id, same
// body) as a manual attempt; both are in the deliveries list, newest first,
// and neither changes the endpoint. Both surfaces, both backends.
func TestWebhookTestAndRetryAPI(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		admin := env.AdminKey
		recv := newReceiver(t, always(200))
		id, secret := createEndpoint(t, env, admin, recv.url, "project.created")
		before := whData(t, env.REST("GET", "/v1/webhook-endpoints/"+id, admin, ""), 200)

		// :test over REST.
		d := whData(t, env.REST("POST", "/v1/webhook-endpoints/"+id+":test", admin, `{}`), 200)
		pingID, _ := d["event_id"].(string)
		if !strings.HasPrefix(pingID, "evt_") || d["event_type"] != "ping" || d["event_seq"] != "0" || d["attempt"] != float64(1) ||
			d["succeeded"] != true || d["status_code"] != float64(200) || d["manual"] != true || d["response_excerpt"] != "answer 200" ||
			d["error"] != "" || d["next_retry_at"] != nil || !strings.HasPrefix(d["id"].(string), "whd_") {
			t.Errorf(":test answered %v", d)
		}
		ping := waitDelivery(t, recv, func(x delivery) bool { return x.id == pingID })
		var body map[string]any
		if err := json.Unmarshal(ping.body, &body); err != nil {
			t.Fatalf("ping body: %v", err)
		}
		data, _ := body["data"].(map[string]any)
		if body["type"] != "ping" || body["seq"] != "0" || ping.header.Get("webhook-id") != pingID || data["id"] != id || data["url"] != recv.url {
			t.Errorf("ping delivered as %s (headers %v)", ping.body, ping.header)
		}
		if strings.Contains(string(ping.body), "whsec_") {
			t.Errorf("the ping carries a secret: %s", ping.body)
		}
		checkVerified(t, secret, []delivery{ping})

		// :test over gRPC.
		c := workspacev1.NewWebhookServiceClient(env.Conn)
		ctx := env.Ctx(admin)
		tr, err := c.TestWebhookEndpoint(ctx, &workspacev1.TestWebhookEndpointRequest{Id: id})
		if err != nil || !tr.GetWebhookDelivery().GetSucceeded() || tr.GetWebhookDelivery().GetEventType() != "ping" || !tr.GetWebhookDelivery().GetManual() {
			t.Fatalf("gRPC :test: %v %v", tr, err)
		}

		// A real event, delivered by the worker, then retried by hand.
		if r := env.REST("POST", "/v1/projects", admin, `{"name":"hooked"}`); r.Status != 201 {
			t.Fatalf("create project: %d %s", r.Status, r.Body)
		}
		first := waitDelivery(t, recv, func(x delivery) bool { return x.typ == "project.created" })
		// The worker records its attempt after the answer: poll the list.
		var auto map[string]any
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for ; auto == nil; <-tick.C {
			for _, x := range listDeliveries(t, env, admin, id) {
				if x["event_id"] == first.id && x["manual"] == false {
					auto = x
				}
			}
			if auto == nil && time.Now().After(deadline) {
				t.Fatalf("the worker's attempt of %s is not listed", first.id)
			}
		}
		if auto["succeeded"] != true || auto["event_type"] != "project.created" || auto["event_seq"] != strconv.FormatInt(first.seq, 10) {
			t.Errorf("worker's attempt = %v", auto)
		}
		rd := whData(t, env.REST("POST", "/v1/webhook-endpoints/"+id+"/deliveries/"+auto["id"].(string)+":retry", admin, `{}`), 200)
		if rd["event_id"] != first.id || rd["event_seq"] != auto["event_seq"] || rd["manual"] != true || rd["succeeded"] != true || rd["id"] == auto["id"] {
			t.Errorf(":retry answered %v", rd)
		}
		// :retry answers after its attempt: the receiver has it already.
		var same []delivery
		for _, x := range recv.deliveries() {
			if x.id == first.id {
				same = append(same, x)
			}
		}
		if len(same) != 2 {
			t.Fatalf("the receiver got %d requests with the event's webhook-id, want 2", len(same))
		}
		again := same[1]
		if string(again.body) != string(first.body) || again.header.Get("webhook-id") != first.id {
			t.Errorf("retried body %s, first %s", again.body, first.body)
		}
		checkVerified(t, secret, []delivery{first, again})
		rr, err := c.RetryWebhookDelivery(ctx, &workspacev1.RetryWebhookDeliveryRequest{EndpointId: id, Id: auto["id"].(string)})
		if err != nil || rr.GetWebhookDelivery().GetEventId() != first.id || !rr.GetWebhookDelivery().GetManual() {
			t.Fatalf("gRPC :retry: %v %v", rr, err)
		}
		// A retried ping is a new ping.
		rp := whData(t, env.REST("POST", "/v1/webhook-endpoints/"+id+"/deliveries/"+d["id"].(string)+":retry", admin, `{}`), 200)
		if rp["event_type"] != "ping" || rp["event_id"] == pingID {
			t.Errorf("retried ping = %v", rp)
		}

		// The list: newest first, six attempts, paged by cursor.
		all := listDeliveries(t, env, admin, id)
		if len(all) != 6 || all[0]["id"] != rp["id"] || all[len(all)-1]["id"] != d["id"] {
			t.Errorf("deliveries = %d, first %v last %v", len(all), all[0]["id"], all[len(all)-1]["id"])
		}
		lr, err := c.ListWebhookDeliveries(ctx, &workspacev1.ListWebhookDeliveriesRequest{EndpointId: id, Limit: proto.Int32(4)})
		if err != nil || len(lr.GetData()) != 4 || lr.GetPagination().GetTotal() != 6 || lr.NextPageToken == nil {
			t.Fatalf("gRPC deliveries page 1: %v %v", lr, err)
		}
		lr2, err := c.ListWebhookDeliveries(ctx, &workspacev1.ListWebhookDeliveriesRequest{EndpointId: id, Limit: proto.Int32(4), PageToken: lr.GetNextPageToken()})
		if err != nil || len(lr2.GetData()) != 2 || lr2.NextPageToken != nil || lr2.GetData()[1].GetId() != d["id"] {
			t.Fatalf("gRPC deliveries page 2: %v %v", lr2, err)
		}

		// Tests and retries leave the endpoint as it was.
		after := whData(t, env.REST("GET", "/v1/webhook-endpoints/"+id, admin, ""), 200)
		if after["etag"] != before["etag"] || after["enabled"] != true {
			t.Errorf("endpoint after tests: %v, before %v", after, before)
		}

		// A failing receiver: the attempt says so; a disabled endpoint is still tested.
		bad := newReceiver(t, always(503))
		bid, _ := createEndpoint(t, env, admin, bad.url, "endpoint.disabled")
		if r := env.REST("PATCH", "/v1/webhook-endpoints/"+bid, admin, `{"enabled":false}`); r.Status != 200 {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		f := whData(t, env.REST("POST", "/v1/webhook-endpoints/"+bid+":test", admin, `{}`), 200)
		if f["succeeded"] != false || f["status_code"] != float64(503) || f["response_excerpt"] != "answer 503" || f["next_retry_at"] != nil {
			t.Errorf("failed :test = %v", f)
		}
		// Unknown delivery under a real endpoint: 404.
		if r := env.REST("POST", "/v1/webhook-endpoints/"+id+"/deliveries/whd_AAAAAAAAAAAAAAAAAAAA:retry", admin, `{}`); r.Status != 404 {
			t.Errorf("retry of an unknown delivery: %d %s", r.Status, r.Body)
		}
		if strings.Contains(env.Logs.String(), "whsec_") {
			t.Errorf("a secret was logged")
		}
	}, fastWebhooks(time.Millisecond))
}

// TestWebhookCatchUpByReenabling: while an event waits for a retry hours
// away, disabling and enabling the endpoint (as the README says) resumes it
// at once, at the event that failed, and the events behind it follow in
// order. Both backends.
func TestWebhookCatchUpByReenabling(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		admin := env.AdminKey
		var down atomic.Bool
		down.Store(true)
		recv := newReceiver(t, func(int, delivery) int {
			if down.Load() {
				return 500
			}
			return 200
		})
		id, _ := createEndpoint(t, env, admin, recv.url, "project.created")
		for _, name := range []string{"one", "two", "three"} {
			if r := env.REST("POST", "/v1/projects", admin, `{"name":"`+name+`"}`); r.Status != 201 {
				t.Fatalf("create project: %d %s", r.Status, r.Body)
			}
		}
		first := waitDelivery(t, recv, func(x delivery) bool { return x.typ == "project.created" })
		// The failure is recorded with its retry an hour away.
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for ; ; <-tick.C {
			ds := listDeliveries(t, env, admin, id)
			if len(ds) == 1 && ds[0]["succeeded"] == false && ds[0]["next_retry_at"] != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no failed attempt with a retry: %v", ds)
			}
		}
		down.Store(false)
		for _, body := range []string{`{"enabled":false}`, `{"enabled":true}`} {
			if r := env.REST("PATCH", "/v1/webhook-endpoints/"+id, admin, body); r.Status != 200 {
				t.Fatalf("PATCH %s: %d %s", body, r.Status, r.Body)
			}
		}
		var got []delivery
		waitDelivery(t, recv, func(delivery) bool {
			got = recv.succeeded()
			return len(got) == 3
		})
		if got[0].id != first.id || !(got[0].seq < got[1].seq && got[1].seq < got[2].seq) {
			t.Errorf("after re-enabling: %v %v %v (the failed one was %s)", got[0].id, got[1].id, got[2].id, first.id)
		}
	}, fastWebhooks(time.Hour))
}

// TestWebhookRetryOfAPrunedEvent: once an attempt's event is past the log's
// retention, :retry answers 404 saying so (SQLite; the pruning itself is
// the events tests').
func TestWebhookRetryOfAPrunedEvent(t *testing.T) {
	var aged atomic.Int64
	env := servertest.Start(t, fastWebhooks(time.Millisecond), func(c *server.Config) {
		c.EventRetention = time.Hour
		c.EventPruneInterval = 5 * time.Millisecond
		c.EventClock = func() time.Time {
			if at := aged.Load(); at != 0 {
				return time.Unix(0, at).Add(time.Hour)
			}
			return time.Now()
		}
	})
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	admin := env.AdminKey
	recv := newReceiver(t, always(200))
	id, _ := createEndpoint(t, env, admin, recv.url, "project.created")
	if r := env.REST("POST", "/v1/projects", admin, `{"name":"soon pruned"}`); r.Status != 201 {
		t.Fatalf("create project: %d %s", r.Status, r.Body)
	}
	ev := waitDelivery(t, recv, func(x delivery) bool { return x.typ == "project.created" })
	var auto string
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for ; auto == ""; <-tick.C {
		for _, d := range listDeliveries(t, env, admin, id) {
			if d["event_id"] == ev.id {
				auto = d["id"].(string)
			}
		}
		if auto == "" && time.Now().After(deadline) {
			t.Fatal("the attempt is not listed")
		}
	}
	aged.Store(time.Now().UnixNano())
	for ; ; <-tick.C {
		if r := env.REST("GET", "/v1/events?after=0", admin, ""); r.Status == http.StatusGone {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("the log was not pruned")
		}
	}
	r := env.REST("POST", "/v1/webhook-endpoints/"+id+"/deliveries/"+auto+":retry", admin, `{}`)
	if code, msg, _ := extRESTError(t, r); r.Status != 404 || code != "NOT_FOUND" || !strings.Contains(msg, "no longer in the log") {
		t.Errorf(":retry of a pruned event: %d %s", r.Status, r.Body)
	}
	n := len(recv.deliveries())
	if n != 1 {
		t.Errorf("the receiver got %d requests, want the one delivery", n)
	}
}
