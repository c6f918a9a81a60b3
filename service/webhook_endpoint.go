package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/service/etag"
	"github.com/example/workspace/service/textfield"
	"github.com/example/workspace/store"
)

// Webhook rules of the API.
const (
	// SecretPrefix starts every signing secret (Standard Webhooks); the
	// rest is the base64 of secretBytes random bytes, the HMAC key.
	SecretPrefix = "whsec_"
	secretBytes  = 24
	// PreviousSecretTTL is how long a rotated-out secret still signs.
	PreviousSecretTTL = 24 * time.Hour
	// PingEventType is the type of the event :test sends; it is never logged.
	PingEventType = "ping"
)

// WebhookSender makes the attempts asked through the API (:test, :retry):
// it sends ev to e now, signed like every delivery, records the attempt as
// a manual one (it never moves the endpoint's cursor) and returns it. The
// delivery engine (service/webhook) implements it; it is injected so that
// this package does not import the engine, which renders events through it.
type WebhookSender interface {
	Send(ctx context.Context, e store.WebhookEndpoint, ev store.Event) (store.WebhookDelivery, error)
}

// WebhookDeps are what the webhook handlers need beyond Deps.
type WebhookDeps struct {
	Store store.WebhookEndpoints
	// CheckURL applies the URL rules (service/webhook.CheckURL with the
	// server's resolver and --webhook-allow-private); its error's text is
	// the 400's message.
	CheckURL func(ctx context.Context, url string) error
	// Sender makes :test and :retry attempts; nil answers UNAVAILABLE.
	Sender WebhookSender
}

// webhooks serves WebhookService: the workspace's webhook endpoints, their
// secrets, tests, deliveries and retries.
type webhooks struct {
	workspacev1.UnimplementedWebhookServiceServer
	Deps
}

func (s *webhooks) wh() WebhookDeps { return s.Webhooks }

var webhookEndpointList = listSpec[store.WebhookEndpoint]{
	name: "webhook_endpoints",
	key:  func(e store.WebhookEndpoint, _ string) *time.Time { return &e.CreatedAt },
	id:   func(e store.WebhookEndpoint) string { return e.ID },
}

var webhookDeliveryList = listSpec[store.WebhookDelivery]{
	name: "webhook_deliveries",
	key:  func(d store.WebhookDelivery, _ string) *time.Time { return &d.AttemptedAt },
	id:   func(d store.WebhookDelivery) string { return d.ID },
}

// newSecret makes a signing secret.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// noStore keeps a response that carries a secret out of every cache.
func noStore(ctx context.Context) {
	_ = grpc.SetHeader(ctx, metadata.Pairs("cache-control", "no-store"))
}

func (s *webhooks) checkURL(ctx context.Context, u string) error {
	if strings.TrimSpace(u) == "" {
		return apierror.Validation("url", "url is required")
	}
	if err := textfield.Optional("url", "url", u, 2048); err != nil {
		return err
	}
	if s.wh().CheckURL == nil {
		return apierror.Internal(errors.New("service: no webhook URL check wired"))
	}
	if err := s.wh().CheckURL(ctx, u); err != nil {
		if ctx.Err() != nil {
			return apierror.From(ctx.Err())
		}
		return apierror.Validation("url", err.Error())
	}
	return nil
}

// checkEventTypes accepts known event types, each once.
func checkEventTypes(types []string) ([]string, error) {
	known := store.EventTypes()
	out := make([]string, 0, len(types))
	for _, t := range types {
		if !slices.Contains(known, t) {
			return nil, apierror.Validation("event_types", "event_types must name known event types: "+strings.Join(known, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *webhooks) ListWebhookEndpoints(ctx context.Context, req *workspacev1.ListWebhookEndpointsRequest) (*workspacev1.ListWebhookEndpointsResponse, error) {
	lr := listRequest{limit: req.Limit, offset: req.Offset, pageToken: req.PageToken}
	data, pg, next, err := listPage(ctx, lr, webhookEndpointList, "", s.wh().Store.ListWebhookEndpoints, webhookEndpointPB)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.ListWebhookEndpointsResponse{Data: data, Pagination: pg, NextPageToken: next}, nil
}

func (s *webhooks) CreateWebhookEndpoint(ctx context.Context, req *workspacev1.CreateWebhookEndpointRequest) (*workspacev1.CreateWebhookEndpointResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkURL(ctx, req.Url); err != nil {
		return nil, err
	}
	if err := textfield.Optional("description", "Description", req.Description, maxDescriptionLength); err != nil {
		return nil, err
	}
	types, err := checkEventTypes(req.EventTypes)
	if err != nil {
		return nil, err
	}
	secret, err := newSecret()
	if err != nil {
		return nil, apierror.Internal(err)
	}
	now := s.now()
	e, err := s.wh().Store.CreateWebhookEndpoint(ctx, store.WebhookEndpoint{
		ID:          ids.New(ids.WebhookEndpoint),
		WorkspaceID: p.WorkspaceID,
		URL:         req.Url,
		Description: req.Description,
		EventTypes:  types,
		Enabled:     req.Enabled == nil || *req.Enabled,
		Secret:      secret,
		CreatedAt:   now,
		UpdatedAt:   now,
		Version:     1,
	})
	if err != nil {
		return nil, apierror.From(err)
	}
	noStore(ctx)
	out := webhookEndpointPB(e)
	out.Secret = &e.Secret
	return &workspacev1.CreateWebhookEndpointResponse{WebhookEndpoint: out}, nil
}

func (s *webhooks) GetWebhookEndpoint(ctx context.Context, req *workspacev1.GetWebhookEndpointRequest) (*workspacev1.GetWebhookEndpointResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("webhook_endpoint", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	e, err := s.wh().Store.GetWebhookEndpoint(ctx, p.WorkspaceID, req.Id)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.GetWebhookEndpointResponse{WebhookEndpoint: webhookEndpointPB(e)}, nil
}

func (s *webhooks) UpdateWebhookEndpoint(ctx context.Context, req *workspacev1.UpdateWebhookEndpointRequest) (*workspacev1.UpdateWebhookEndpointResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	u := req.GetWebhookEndpoint()
	if u == nil {
		u = &workspacev1.WebhookEndpointUpdate{}
	}
	present := presence(u)
	paths, err := updatePaths(req.GetUpdateMask().GetPaths(), func(f string) bool {
		if f == "event_types" {
			return len(u.EventTypes) > 0
		}
		return present(f)
	}, "url", "description", "event_types", "enabled")
	if err != nil {
		return nil, err
	}
	if paths["url"] {
		if err := s.checkURL(ctx, u.GetUrl()); err != nil {
			return nil, err
		}
	}
	if paths["description"] {
		if err := textfield.Optional("description", "Description", u.GetDescription(), maxDescriptionLength); err != nil {
			return nil, err
		}
	}
	var types []string
	if paths["event_types"] {
		if types, err = checkEventTypes(u.EventTypes); err != nil {
			return nil, err
		}
	}
	if err := knownID("webhook_endpoint", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	check, err := precondition(ctx, req.Etag, "webhook endpoint")
	if err != nil {
		return nil, err
	}
	now := s.now()
	e, err := s.wh().Store.UpdateWebhookEndpoint(ctx, p.WorkspaceID, req.Id, func(e *store.WebhookEndpoint) error {
		if check != nil {
			if err := check(e.Version); err != nil {
				return err
			}
		}
		if paths["url"] {
			e.URL = u.GetUrl()
		}
		if paths["description"] {
			e.Description = u.GetDescription()
		}
		if paths["event_types"] {
			e.EventTypes = types
		}
		if paths["enabled"] {
			if u.GetEnabled() && !e.Enabled {
				e.DisabledReason = ""
			}
			e.Enabled = u.GetEnabled()
		}
		e.UpdatedAt = now
		return nil
	})
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.UpdateWebhookEndpointResponse{WebhookEndpoint: webhookEndpointPB(e)}, nil
}

func (s *webhooks) DeleteWebhookEndpoint(ctx context.Context, req *workspacev1.DeleteWebhookEndpointRequest) (*workspacev1.DeleteWebhookEndpointResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("webhook_endpoint", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	check, err := precondition(ctx, req.Etag, "webhook endpoint")
	if err != nil {
		return nil, err
	}
	if check == nil {
		err = s.wh().Store.DeleteWebhookEndpoint(ctx, p.WorkspaceID, req.Id)
	} else {
		err = s.wh().Store.DeleteWebhookEndpointIf(ctx, p.WorkspaceID, req.Id, func(e store.WebhookEndpoint) error { return check(e.Version) })
	}
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.DeleteWebhookEndpointResponse{Id: req.Id, Deleted: true}, nil
}

func (s *webhooks) RotateWebhookSecret(ctx context.Context, req *workspacev1.RotateWebhookSecretRequest) (*workspacev1.RotateWebhookSecretResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("webhook_endpoint", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	secret, err := newSecret()
	if err != nil {
		return nil, apierror.Internal(err)
	}
	now := s.now()
	until := now.Add(PreviousSecretTTL)
	e, err := s.wh().Store.UpdateWebhookEndpoint(ctx, p.WorkspaceID, req.Id, func(e *store.WebhookEndpoint) error {
		e.PreviousSecret = e.Secret
		e.PreviousSecretExpiresAt = &until
		e.Secret = secret
		e.UpdatedAt = now
		return nil
	})
	if err != nil {
		return nil, apierror.From(err)
	}
	noStore(ctx)
	out := webhookEndpointPB(e)
	out.Secret = &e.Secret
	return &workspacev1.RotateWebhookSecretResponse{WebhookEndpoint: out}, nil
}

func (s *webhooks) sender() (WebhookSender, error) {
	if s.wh().Sender == nil {
		return nil, apierror.New(apierror.CodeUnavailable, "Webhook deliveries are not available on this server", nil)
	}
	return s.wh().Sender, nil
}

func (s *webhooks) TestWebhookEndpoint(ctx context.Context, req *workspacev1.TestWebhookEndpointRequest) (*workspacev1.TestWebhookEndpointResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("webhook_endpoint", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	snd, err := s.sender()
	if err != nil {
		return nil, err
	}
	e, err := s.wh().Store.GetWebhookEndpoint(ctx, p.WorkspaceID, req.Id)
	if err != nil {
		return nil, apierror.From(err)
	}
	ev := PingEvent(e, s.now())
	d, err := snd.Send(ctx, e, ev)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.TestWebhookEndpointResponse{WebhookDelivery: webhookDeliveryPB(d)}, nil
}

// PingEvent is the event :test sends to e: a fresh evt_ id, seq 0, type
// "ping", and the endpoint (without secrets) as its data.
func PingEvent(e store.WebhookEndpoint, now time.Time) store.Event {
	pub := e
	pub.Secret, pub.PreviousSecret = "", ""
	return store.Event{
		WorkspaceID: e.WorkspaceID,
		ID:          ids.New(ids.Event),
		Type:        PingEventType,
		CreatedAt:   now,
		Data:        store.Resource{WebhookEndpoint: &pub},
	}
}

func (s *webhooks) ListWebhookDeliveries(ctx context.Context, req *workspacev1.ListWebhookDeliveriesRequest) (*workspacev1.ListWebhookDeliveriesResponse, error) {
	if err := knownID("webhook_endpoint", req.EndpointId); err != nil {
		return nil, apierror.From(err)
	}
	list := func(ctx context.Context, workspaceID string, pg store.Page) ([]store.WebhookDelivery, int, error) {
		return s.wh().Store.ListWebhookDeliveries(ctx, workspaceID, req.EndpointId, pg)
	}
	lr := listRequest{limit: req.Limit, offset: req.Offset, pageToken: req.PageToken}
	data, pg, next, err := listPage(ctx, lr, webhookDeliveryList, "endpoint="+req.EndpointId, list, webhookDeliveryPB)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.ListWebhookDeliveriesResponse{Data: data, Pagination: pg, NextPageToken: next}, nil
}

func (s *webhooks) RetryWebhookDelivery(ctx context.Context, req *workspacev1.RetryWebhookDeliveryRequest) (*workspacev1.RetryWebhookDeliveryResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("webhook_endpoint", req.EndpointId); err != nil {
		return nil, apierror.From(err)
	}
	if err := knownID("webhook_delivery", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	snd, err := s.sender()
	if err != nil {
		return nil, err
	}
	e, err := s.wh().Store.GetWebhookEndpoint(ctx, p.WorkspaceID, req.EndpointId)
	if err != nil {
		return nil, apierror.From(err)
	}
	d, err := s.wh().Store.GetWebhookDelivery(ctx, p.WorkspaceID, req.EndpointId, req.Id)
	if err != nil {
		return nil, apierror.From(err)
	}
	var ev store.Event
	if d.EventSeq == 0 {
		// A ping is not in the log: a retry of a test is a new ping.
		ev = PingEvent(e, s.now())
	} else {
		evs, _, err := s.Store.ListEvents(ctx, p.WorkspaceID, store.EventFilter{After: d.EventSeq - 1}, 1)
		if err != nil && !errors.Is(err, store.ErrEventsExpired) {
			return nil, apierror.From(err)
		}
		if err != nil || len(evs) == 0 || evs[0].Seq != d.EventSeq {
			return nil, apierror.New(apierror.CodeNotFound, "The event of this delivery is no longer in the log (pruned by its retention)", nil)
		}
		ev = evs[0]
	}
	nd, err := snd.Send(ctx, e, ev)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.RetryWebhookDeliveryResponse{WebhookDelivery: webhookDeliveryPB(nd)}, nil
}

// webhookEndpointPB renders an endpoint without its secrets; the two
// responses that show a secret set Secret themselves.
func webhookEndpointPB(e store.WebhookEndpoint) *workspacev1.WebhookEndpoint {
	types := e.EventTypes
	if types == nil {
		types = []string{}
	}
	out := &workspacev1.WebhookEndpoint{
		Id:             e.ID,
		Url:            e.URL,
		Description:    e.Description,
		EventTypes:     types,
		Enabled:        e.Enabled,
		DisabledReason: e.DisabledReason,
		CreatedAt:      ts(e.CreatedAt),
		UpdatedAt:      ts(e.UpdatedAt),
		Etag:           etag.Of(e.Version),
	}
	if e.PreviousSecret != "" && e.PreviousSecretExpiresAt != nil {
		out.PreviousSecretExpiresAt = ts(*e.PreviousSecretExpiresAt)
	}
	return out
}

func webhookDeliveryPB(d store.WebhookDelivery) *workspacev1.WebhookDelivery {
	var next *timestamppb.Timestamp
	if d.NextRetryAt != nil {
		next = ts(*d.NextRetryAt)
	}
	return &workspacev1.WebhookDelivery{
		Id:              d.ID,
		EventId:         d.EventID,
		EventSeq:        d.EventSeq,
		EventType:       d.EventType,
		Attempt:         int32(d.Attempt),
		AttemptedAt:     ts(d.AttemptedAt),
		StatusCode:      int32(d.StatusCode),
		DurationMs:      d.Duration.Milliseconds(),
		ResponseExcerpt: d.ResponseExcerpt,
		Error:           d.Error,
		Succeeded:       d.Succeeded,
		NextRetryAt:     next,
		Manual:          d.Manual,
	}
}
