package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// whRequest is one request a receiver got.
type whRequest struct {
	Header http.Header
	Body   []byte
}

// whReceiver is a real HTTP receiver on loopback: it answers Status (200
// unless set) and hands every request to Got.
type whReceiver struct {
	URL    string
	Got    chan whRequest
	Status atomic.Int32
	Count  atomic.Int64
}

func newLoopbackReceiver(t testing.TB) *whReceiver {
	t.Helper()
	r := &whReceiver{Got: make(chan whRequest, 1024)}
	r.Status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.Count.Add(1)
		select {
		case r.Got <- whRequest{Header: req.Header.Clone(), Body: b}:
		default:
		}
		w.WriteHeader(int(r.Status.Load()))
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

// mustEndpoint creates an endpoint to url and returns it, with its secret.
// It subscribes to endpoint.disabled only, which none of these tests logs:
// the worker makes no attempt of its own, so that the attempts counted are
// the tests' (:test, :retry).
func (c extClients) mustEndpoint(t testing.TB, ctx context.Context, url, description string) *workspacev1.WebhookEndpoint {
	t.Helper()
	resp, err := c.webhooks.CreateWebhookEndpoint(ctx, &workspacev1.CreateWebhookEndpointRequest{Url: url, Description: description,
		EventTypes: []string{"endpoint.disabled"}})
	if err != nil {
		t.Fatalf("CreateWebhookEndpoint(%q): %v", url, err)
	}
	return resp.GetWebhookEndpoint()
}

// mustPing sends a test to the endpoint and returns the attempt.
func (c extClients) mustPing(t testing.TB, ctx context.Context, endpointID string) *workspacev1.WebhookDelivery {
	t.Helper()
	resp, err := c.webhooks.TestWebhookEndpoint(ctx, &workspacev1.TestWebhookEndpointRequest{Id: endpointID})
	if err != nil {
		t.Fatalf("TestWebhookEndpoint(%s): %v", endpointID, err)
	}
	return resp.GetWebhookDelivery()
}

func (f *scxFixture) endpointTotal(t *testing.T) int32 {
	t.Helper()
	resp, err := f.c.webhooks.ListWebhookEndpoints(f.admin, &workspacev1.ListWebhookEndpointsRequest{Limit: proto.Int32(1)})
	if err != nil {
		t.Fatalf("ListWebhookEndpoints: %v", err)
	}
	return resp.GetPagination().GetTotal()
}

func (f *scxFixture) deliveryTotal(t *testing.T) int32 {
	t.Helper()
	resp, err := f.c.webhooks.ListWebhookDeliveries(f.admin, &workspacev1.ListWebhookDeliveriesRequest{EndpointId: f.endpoint, Limit: proto.Int32(1)})
	if err != nil {
		t.Fatalf("ListWebhookDeliveries: %v", err)
	}
	return resp.GetPagination().GetTotal()
}

// setupWebhooks gives the matrix an endpoint to a receiver and one attempt.
func (f *scxFixture) setupWebhooks(t *testing.T) {
	t.Helper()
	f.receiver = newLoopbackReceiver(t)
	f.endpoint = f.c.mustEndpoint(t, f.admin, f.receiver.URL, "shared endpoint").GetId()
	f.delivery = f.c.mustPing(t, f.admin, f.endpoint).GetId()
}

func init() {
	for k, v := range webhookScopeEntries {
		scxTable[k] = v
	}
}

// webhookScopeEntries are WebhookService's rows of the scope matrix.
var webhookScopeEntries = map[string]scxEntry{
	"/workspace.v1.WebhookService/ListWebhookEndpoints": {
		scope: "admin", verbs: []string{"GET"}, template: "/v1/webhook-endpoints", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{query: "limit=5", grpc: func(ctx context.Context) error {
				_, err := f.c.webhooks.ListWebhookEndpoints(ctx, &workspacev1.ListWebhookEndpointsRequest{Limit: proto.Int32(5)})
				return err
			}}
		},
	},
	"/workspace.v1.WebhookService/CreateWebhookEndpoint": {
		scope: "admin", verbs: []string{"POST"}, template: "/v1/webhook-endpoints", okStatus: http.StatusCreated,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			before := f.endpointTotal(t)
			return scxCall{
				body: fmt.Sprintf(`{"url":%q}`, f.receiver.URL),
				grpc: func(ctx context.Context) error {
					_, err := f.c.webhooks.CreateWebhookEndpoint(ctx, &workspacev1.CreateWebhookEndpointRequest{Url: f.receiver.URL})
					return err
				},
				effect: func(t *testing.T) bool { return f.endpointTotal(t) > before },
			}
		},
	},
	"/workspace.v1.WebhookService/GetWebhookEndpoint": {
		scope: "admin", verbs: []string{"GET"}, template: "/v1/webhook-endpoints/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{id: f.endpoint, grpc: func(ctx context.Context) error {
				_, err := f.c.webhooks.GetWebhookEndpoint(ctx, &workspacev1.GetWebhookEndpointRequest{Id: f.endpoint})
				return err
			}}
		},
	},
	"/workspace.v1.WebhookService/UpdateWebhookEndpoint": {
		scope: "admin", verbs: []string{"PUT", "PATCH"}, template: "/v1/webhook-endpoints/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			d := f.unique("described endpoint")
			return scxCall{
				id:   f.endpoint,
				body: fmt.Sprintf(`{"description":%q}`, d),
				grpc: func(ctx context.Context) error {
					_, err := f.c.webhooks.UpdateWebhookEndpoint(ctx, &workspacev1.UpdateWebhookEndpointRequest{
						Id: f.endpoint, WebhookEndpoint: &workspacev1.WebhookEndpointUpdate{Description: proto.String(d)}})
					return err
				},
				effect: func(t *testing.T) bool {
					resp, err := f.c.webhooks.GetWebhookEndpoint(f.admin, &workspacev1.GetWebhookEndpointRequest{Id: f.endpoint})
					if err != nil {
						t.Fatalf("GetWebhookEndpoint: %v", err)
					}
					return resp.GetWebhookEndpoint().GetDescription() == d
				},
			}
		},
	},
	"/workspace.v1.WebhookService/DeleteWebhookEndpoint": {
		scope: "admin", verbs: []string{"DELETE"}, template: "/v1/webhook-endpoints/{id}", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			id := f.c.mustEndpoint(t, f.admin, f.receiver.URL, "doomed endpoint").GetId()
			return scxCall{
				id: id,
				grpc: func(ctx context.Context) error {
					_, err := f.c.webhooks.DeleteWebhookEndpoint(ctx, &workspacev1.DeleteWebhookEndpointRequest{Id: id})
					return err
				},
				effect: func(t *testing.T) bool {
					_, err := f.c.webhooks.GetWebhookEndpoint(f.admin, &workspacev1.GetWebhookEndpointRequest{Id: id})
					return scxGone(t, err)
				},
			}
		},
	},
	"/workspace.v1.WebhookService/RotateWebhookSecret": {
		scope: "admin", verbs: []string{"POST"}, template: "/v1/webhook-endpoints/{id}:rotateSecret", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			secret := func() string {
				e, err := f.env.Server.Store().GetWebhookEndpoint(context.Background(), f.wsID, f.endpoint)
				if err != nil {
					t.Fatalf("store GetWebhookEndpoint: %v", err)
				}
				return e.Secret
			}
			before := secret()
			return scxCall{
				id:   f.endpoint,
				body: `{}`,
				grpc: func(ctx context.Context) error {
					_, err := f.c.webhooks.RotateWebhookSecret(ctx, &workspacev1.RotateWebhookSecretRequest{Id: f.endpoint})
					return err
				},
				effect: func(t *testing.T) bool { return secret() != before },
			}
		},
	},
	"/workspace.v1.WebhookService/TestWebhookEndpoint": {
		scope: "admin", verbs: []string{"POST"}, template: "/v1/webhook-endpoints/{id}:test", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			before := f.deliveryTotal(t)
			return scxCall{
				id:   f.endpoint,
				body: `{}`,
				grpc: func(ctx context.Context) error {
					_, err := f.c.webhooks.TestWebhookEndpoint(ctx, &workspacev1.TestWebhookEndpointRequest{Id: f.endpoint})
					return err
				},
				effect: func(t *testing.T) bool { return f.deliveryTotal(t) > before },
			}
		},
	},
	"/workspace.v1.WebhookService/ListWebhookDeliveries": {
		scope: "admin", verbs: []string{"GET"}, template: "/v1/webhook-endpoints/{endpoint_id}/deliveries", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			return scxCall{endpoint: f.endpoint, query: "limit=5", grpc: func(ctx context.Context) error {
				_, err := f.c.webhooks.ListWebhookDeliveries(ctx, &workspacev1.ListWebhookDeliveriesRequest{EndpointId: f.endpoint, Limit: proto.Int32(5)})
				return err
			}}
		},
	},
	"/workspace.v1.WebhookService/RetryWebhookDelivery": {
		scope: "admin", verbs: []string{"POST"}, template: "/v1/webhook-endpoints/{endpoint_id}/deliveries/{id}:retry", okStatus: http.StatusOK,
		prepare: func(t *testing.T, f *scxFixture) scxCall {
			before := f.deliveryTotal(t)
			return scxCall{
				endpoint: f.endpoint,
				id:       f.delivery,
				body:     `{}`,
				grpc: func(ctx context.Context) error {
					_, err := f.c.webhooks.RetryWebhookDelivery(ctx, &workspacev1.RetryWebhookDeliveryRequest{EndpointId: f.endpoint, Id: f.delivery})
					return err
				},
				effect: func(t *testing.T) bool { return f.deliveryTotal(t) > before },
			}
		},
	},
}

// tnxWebhookCases are WebhookService's foreign-id cases of
// TestTenancyForeignIDs, and the check, run at the end, that nothing of B's
// changed and B's receiver heard nothing from A.
func tnxWebhookCases(t *testing.T, c extClients, aCtx, bCtx context.Context) ([]tnxCase, func()) {
	t.Helper()
	recvA, recvB := newLoopbackReceiver(t), newLoopbackReceiver(t)
	eA := c.mustEndpoint(t, aCtx, recvA.URL, "A's endpoint")
	eB := c.mustEndpoint(t, bCtx, recvB.URL, "B's endpoint")
	c.mustPing(t, aCtx, eA.GetId())
	dB := c.mustPing(t, bCtx, eB.GetId())
	getB := func() *workspacev1.WebhookEndpoint {
		t.Helper()
		r, err := c.webhooks.GetWebhookEndpoint(bCtx, &workspacev1.GetWebhookEndpointRequest{Id: eB.GetId()})
		if err != nil {
			t.Fatalf("GetWebhookEndpoint(B's): %v", err)
		}
		return r.GetWebhookEndpoint()
	}
	wantB := getB()
	randE, randD := tnxRandomID("whe_"), tnxRandomID("whd_")
	rest := func(method string, path func(string) string, body string) func(string) (string, string, string) {
		return func(id string) (string, string, string) { return method, path(id), body }
	}
	endpointPath := func(suffix string) func(string) string {
		return func(id string) string { return "/v1/webhook-endpoints/" + id + suffix }
	}
	cases := []tnxCase{
		{
			name: "GetWebhookEndpoint", foreign: eB.GetId(), random: randE,
			rest: rest(http.MethodGet, endpointPath(""), ""),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.webhooks.GetWebhookEndpoint(ctx, &workspacev1.GetWebhookEndpointRequest{Id: id})
				return err
			},
		},
		{
			name: "UpdateWebhookEndpoint PUT", foreign: eB.GetId(), random: randE,
			rest: rest(http.MethodPut, endpointPath(""), fmt.Sprintf(`{"url":%q,"enabled":false}`, recvA.URL)),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.webhooks.UpdateWebhookEndpoint(ctx, &workspacev1.UpdateWebhookEndpointRequest{Id: id,
					WebhookEndpoint: &workspacev1.WebhookEndpointUpdate{Url: proto.String(recvA.URL)}})
				return err
			},
		},
		{
			name: "UpdateWebhookEndpoint PATCH", foreign: eB.GetId(), random: randE,
			rest: rest(http.MethodPatch, endpointPath(""), `{"description":"hijacked by A"}`),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.webhooks.UpdateWebhookEndpoint(ctx, &workspacev1.UpdateWebhookEndpointRequest{Id: id,
					WebhookEndpoint: &workspacev1.WebhookEndpointUpdate{Enabled: proto.Bool(false)}, UpdateMask: tnxMask("enabled")})
				return err
			},
		},
		{
			name: "DeleteWebhookEndpoint", foreign: eB.GetId(), random: randE,
			rest: rest(http.MethodDelete, endpointPath(""), ""),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.webhooks.DeleteWebhookEndpoint(ctx, &workspacev1.DeleteWebhookEndpointRequest{Id: id})
				return err
			},
		},
		{
			name: "RotateWebhookSecret", foreign: eB.GetId(), random: randE,
			rest: rest(http.MethodPost, endpointPath(":rotateSecret"), `{}`),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.webhooks.RotateWebhookSecret(ctx, &workspacev1.RotateWebhookSecretRequest{Id: id})
				return err
			},
		},
		{
			name: "TestWebhookEndpoint", foreign: eB.GetId(), random: randE,
			rest: rest(http.MethodPost, endpointPath(":test"), `{}`),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.webhooks.TestWebhookEndpoint(ctx, &workspacev1.TestWebhookEndpointRequest{Id: id})
				return err
			},
		},
		{
			name: "ListWebhookDeliveries", foreign: eB.GetId(), random: randE,
			rest: rest(http.MethodGet, endpointPath("/deliveries"), ""),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.webhooks.ListWebhookDeliveries(ctx, &workspacev1.ListWebhookDeliveriesRequest{EndpointId: id})
				return err
			},
		},
		{
			name: "RetryWebhookDelivery of B's endpoint", foreign: eB.GetId(), random: randE,
			rest: rest(http.MethodPost, endpointPath("/deliveries/"+dB.GetId()+":retry"), `{}`),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.webhooks.RetryWebhookDelivery(ctx, &workspacev1.RetryWebhookDeliveryRequest{EndpointId: id, Id: dB.GetId()})
				return err
			},
		},
		{
			name: "RetryWebhookDelivery of B's attempt under A's endpoint", foreign: dB.GetId(), random: randD,
			rest: rest(http.MethodPost, func(id string) string {
				return "/v1/webhook-endpoints/" + eA.GetId() + "/deliveries/" + id + ":retry"
			}, `{}`),
			grpc: func(ctx context.Context, id string) error {
				_, err := c.webhooks.RetryWebhookDelivery(ctx, &workspacev1.RetryWebhookDeliveryRequest{EndpointId: eA.GetId(), Id: id})
				return err
			},
		},
	}
	check := func() {
		t.Helper()
		if got := getB(); !proto.Equal(got, wantB) {
			t.Errorf("B's endpoint changed:\n  was %v\n  now %v", wantB, got)
		}
		l, err := c.webhooks.ListWebhookDeliveries(bCtx, &workspacev1.ListWebhookDeliveriesRequest{EndpointId: eB.GetId()})
		if err != nil || l.GetPagination().GetTotal() != 1 {
			t.Errorf("B's deliveries: %v %v; want B's one ping", l, err)
		}
		if n := recvB.Count.Load(); n != 1 {
			t.Errorf("B's receiver got %d requests, want B's one ping", n)
		}
	}
	return cases, check
}
