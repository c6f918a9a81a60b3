package sdk

import (
	"context"
	"iter"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// WebhooksService is /v1/webhook-endpoints; every call needs the admin scope.
// Verify what an endpoint receives with VerifyWebhook.
type WebhooksService struct {
	rpc workspacev1.WebhookServiceClient
}

// NewWebhookEndpoint is what Create takes.
type NewWebhookEndpoint struct {
	URL         string
	Description string
	// EventTypes filters the events sent; all of them when empty.
	EventTypes []string
	// Disabled creates the endpoint without deliveries.
	Disabled bool
}

// List returns one page of endpoints, without secrets, newest first.
func (s *WebhooksService) List(ctx context.Context, opts *ListOptions) ([]*WebhookEndpoint, *Pagination, error) {
	r, err := s.rpc.ListWebhookEndpoints(ctx, &workspacev1.ListWebhookEndpointsRequest{Limit: opts.limit(), Offset: opts.offset(), PageToken: opts.cursor()})
	return r.GetData(), withCursor(r.GetPagination(), r.GetNextPageToken()), err
}

// All iterates over every endpoint.
func (s *WebhooksService) All(ctx context.Context, pageSize int) iter.Seq2[*WebhookEndpoint, error] {
	return pages(ctx, pageSize, func(ctx context.Context, limit *int32, token string) ([]*WebhookEndpoint, *string, error) {
		r, err := s.rpc.ListWebhookEndpoints(ctx, &workspacev1.ListWebhookEndpointsRequest{Limit: limit, PageToken: token})
		return r.GetData(), r.NextPageToken, err
	})
}

// Create makes an endpoint; its signing secret is in GetSecret(), this once.
func (s *WebhooksService) Create(ctx context.Context, e NewWebhookEndpoint) (*WebhookEndpoint, error) {
	enabled := !e.Disabled
	r, err := s.rpc.CreateWebhookEndpoint(ctx, &workspacev1.CreateWebhookEndpointRequest{
		Url: e.URL, Description: e.Description, EventTypes: e.EventTypes, Enabled: &enabled})
	return r.GetWebhookEndpoint(), err
}

// Get returns an endpoint, without its secret.
func (s *WebhooksService) Get(ctx context.Context, id string) (*WebhookEndpoint, error) {
	r, err := s.rpc.GetWebhookEndpoint(ctx, &workspacev1.GetWebhookEndpointRequest{Id: id})
	return r.GetWebhookEndpoint(), err
}

// Update changes the fields set in u; IfMatch makes it conditional. An empty
// EventTypes leaves them alone; SetAllEventTypes clears the filter.
func (s *WebhooksService) Update(ctx context.Context, id string, u *WebhookEndpointUpdate, opts ...WriteOption) (*WebhookEndpoint, error) {
	r, err := s.rpc.UpdateWebhookEndpoint(ctx, &workspacev1.UpdateWebhookEndpointRequest{Id: id, WebhookEndpoint: u, Etag: collect(opts).etag})
	return r.GetWebhookEndpoint(), err
}

// SetAllEventTypes clears the endpoint's filter: every event type is sent.
func (s *WebhooksService) SetAllEventTypes(ctx context.Context, id string, opts ...WriteOption) (*WebhookEndpoint, error) {
	r, err := s.rpc.UpdateWebhookEndpoint(ctx, &workspacev1.UpdateWebhookEndpointRequest{Id: id,
		WebhookEndpoint: &WebhookEndpointUpdate{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"event_types"}}, Etag: collect(opts).etag})
	return r.GetWebhookEndpoint(), err
}

// Delete deletes an endpoint and its deliveries; IfMatch makes it conditional.
func (s *WebhooksService) Delete(ctx context.Context, id string, opts ...WriteOption) error {
	_, err := s.rpc.DeleteWebhookEndpoint(ctx, &workspacev1.DeleteWebhookEndpointRequest{Id: id, Etag: collect(opts).etag})
	return err
}

// RotateSecret gives the endpoint a new secret (in GetSecret(), this once);
// the old one signs too for 24 hours (GetPreviousSecretExpiresAt()).
func (s *WebhooksService) RotateSecret(ctx context.Context, id string) (*WebhookEndpoint, error) {
	r, err := s.rpc.RotateWebhookSecret(ctx, &workspacev1.RotateWebhookSecretRequest{Id: id})
	return r.GetWebhookEndpoint(), err
}

// Test sends a ping event to the endpoint now and returns the attempt.
func (s *WebhooksService) Test(ctx context.Context, id string) (*WebhookDelivery, error) {
	r, err := s.rpc.TestWebhookEndpoint(ctx, &workspacev1.TestWebhookEndpointRequest{Id: id})
	return r.GetWebhookDelivery(), err
}

// Deliveries returns one page of the endpoint's attempts, newest first.
func (s *WebhooksService) Deliveries(ctx context.Context, endpointID string, opts *ListOptions) ([]*WebhookDelivery, *Pagination, error) {
	r, err := s.rpc.ListWebhookDeliveries(ctx, &workspacev1.ListWebhookDeliveriesRequest{EndpointId: endpointID,
		Limit: opts.limit(), Offset: opts.offset(), PageToken: opts.cursor()})
	return r.GetData(), withCursor(r.GetPagination(), r.GetNextPageToken()), err
}

// Retry sends a past attempt's event again now and returns the new attempt.
func (s *WebhooksService) Retry(ctx context.Context, endpointID, deliveryID string) (*WebhookDelivery, error) {
	r, err := s.rpc.RetryWebhookDelivery(ctx, &workspacev1.RetryWebhookDeliveryRequest{EndpointId: endpointID, Id: deliveryID})
	return r.GetWebhookDelivery(), err
}
