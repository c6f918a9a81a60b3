package store

import (
	"context"
	"errors"
	"time"
)

// Webhooks: endpoints that receive a workspace's event log over HTTP, and
// the attempts made to deliver it. An endpoint's cursor (DeliveredSeq) and
// its retry state live in the store, so deliveries survive restarts; a lease
// (owner + expiry) says which server delivers to an endpoint right now, so
// that with several replicas exactly one does.

// EventEndpointDisabled is logged when an endpoint is disabled because its
// last retry failed. Its Data is the endpoint (Resource.WebhookEndpoint),
// without secrets.
const EventEndpointDisabled = "endpoint.disabled"

// ErrLeaseLost reports a dispatch write by an owner that no longer holds the
// endpoint's lease (it expired and another owner may have taken it, or the
// endpoint was disabled or deleted): nothing was written.
var ErrLeaseLost = errors.New("webhook lease lost")

// WebhookEndpoint is a URL that receives a workspace's events.
type WebhookEndpoint struct {
	// ID is "whe_" and random base62 characters.
	ID          string
	WorkspaceID string
	URL         string
	Description string
	// EventTypes filters the events sent; all when empty.
	EventTypes []string
	Enabled    bool
	// DisabledReason says why the delivery engine disabled the endpoint
	// ("" when enabled, or disabled by its owner).
	DisabledReason string
	// Secret is "whsec_" and the base64 of 24 random bytes: the HMAC key of
	// the signatures is the decoded bytes. PreviousSecret, until
	// PreviousSecretExpiresAt, is the one a rotation replaced: deliveries
	// are signed with both.
	Secret                  string
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
	// Version is Project.Version for endpoints: 1 on create, one more with
	// every UpdateWebhookEndpoint (dispatch writes do not change it).
	Version int64
	// DeliveredSeq is the endpoint's cursor: every event of the log with a
	// Seq up to it was delivered or filtered out. CreateWebhookEndpoint sets
	// it to the log's last Seq in the same transaction (whatever it is
	// given): an endpoint receives the events after its creation.
	DeliveredSeq int64
	// FailedAttempts counts the failed attempts of the event after
	// DeliveredSeq; NextAttemptAt, when set, is when it is retried (nil: at
	// once when there is an event to send).
	FailedAttempts int
	NextAttemptAt  *time.Time
}

// WebhookDelivery is one attempt to deliver an event to an endpoint.
type WebhookDelivery struct {
	// ID is "whd_" and random base62 characters.
	ID          string
	WorkspaceID string
	EndpointID  string
	EventID     string
	// EventSeq is 0 for a ping (the :test event, which is not in the log).
	EventSeq  int64
	EventType string
	// Attempt is 1 for the first attempt of the event to this endpoint.
	Attempt     int
	AttemptedAt time.Time
	// StatusCode is the HTTP status answered, 0 if none was (Error says why).
	StatusCode int
	Duration   time.Duration
	// ResponseExcerpt is the start of the response body: at most 256 bytes,
	// valid UTF-8.
	ResponseExcerpt string
	Error           string
	Succeeded       bool
	// NextRetryAt is when the event is tried again after this failed
	// attempt; nil after a success, a manual attempt, or the last attempt.
	NextRetryAt *time.Time
	// Manual marks an attempt asked through the API (:test, :retry): it
	// never moves the endpoint's cursor.
	Manual bool
}

// WebhookAttempt is what the delivery engine records after an attempt of
// the event after an endpoint's cursor.
type WebhookAttempt struct {
	// Delivery is the attempt's row; Delivery.Succeeded moves the cursor to
	// Delivery.EventSeq and clears the retry state; a failure with
	// Delivery.NextRetryAt set counts it and schedules the retry.
	Delivery WebhookDelivery
	// DisableReason, on a failure without NextRetryAt (the last attempt),
	// disables the endpoint with that reason and appends an
	// EventEndpointDisabled event to the log in the same transaction.
	DisableReason string
}

// WebhookEndpoints are a workspace's endpoints and their deliveries, as the
// API manages them. Another workspace's endpoint is NotFound("webhook_endpoint").
type WebhookEndpoints interface {
	// CreateWebhookEndpoint stores a new endpoint at Version 1, DeliveredSeq
	// the workspace's last Seq, and no retry state (those fields are
	// ignored); ErrConflict if the id is taken, NotFound("workspace") if the
	// workspace does not exist. It returns the endpoint stored.
	CreateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) (WebhookEndpoint, error)
	// GetWebhookEndpoint returns an endpoint or NotFound("webhook_endpoint").
	GetWebhookEndpoint(ctx context.Context, workspaceID, id string) (WebhookEndpoint, error)
	// ListWebhookEndpoints returns one page of the workspace's endpoints
	// (default Order only) and how many there are.
	ListWebhookEndpoints(ctx context.Context, workspaceID string, page Page) ([]WebhookEndpoint, int, error)
	// UpdateWebhookEndpoint is UpdateProject for endpoints: ID,
	// WorkspaceID, CreatedAt and the dispatch state (DeliveredSeq,
	// FailedAttempts, NextAttemptAt) are kept whatever update does, Version
	// is one more than read. Enabling a disabled endpoint clears
	// DisabledReason and its retry state (it resumes at its cursor).
	UpdateWebhookEndpoint(ctx context.Context, workspaceID, id string, update func(*WebhookEndpoint) error) (WebhookEndpoint, error)
	// DeleteWebhookEndpoint deletes the endpoint and its deliveries, or
	// returns NotFound("webhook_endpoint").
	DeleteWebhookEndpoint(ctx context.Context, workspaceID, id string) error
	// DeleteWebhookEndpointIf is DeleteWebhookEndpoint when check, given the
	// endpoint as stored, returns nil; check's error otherwise, and nothing
	// is deleted. The check and the delete are one transaction (If-Match).
	DeleteWebhookEndpointIf(ctx context.Context, workspaceID, id string, check func(WebhookEndpoint) error) error
	// ListWebhookDeliveries returns one page of the endpoint's attempts,
	// newest first (attempted_at then id, descending; default Order only,
	// keyset After on attempted_at), and how many there are;
	// NotFound("webhook_endpoint") if the endpoint is not the workspace's.
	ListWebhookDeliveries(ctx context.Context, workspaceID, endpointID string, page Page) ([]WebhookDelivery, int, error)
	// GetWebhookDelivery returns an attempt of the endpoint or
	// NotFound("webhook_delivery") (NotFound("webhook_endpoint") when the
	// endpoint is not the workspace's).
	GetWebhookDelivery(ctx context.Context, workspaceID, endpointID, id string) (WebhookDelivery, error)
}

// WebhookDispatch is what the delivery engine needs: claim the endpoints
// that are due under a lease, read the next event to send, record attempts.
// Every method but ClaimWebhookEndpoints and RecordManualWebhookDelivery
// writes only while owner holds the endpoint's lease (lease owner = owner and
// expiry after now), and returns ErrLeaseLost otherwise.
type WebhookDispatch interface {
	// ClaimWebhookEndpoints leases up to limit endpoints (of any workspace)
	// to owner until now+ttl, and returns them: enabled endpoints with an
	// event after their cursor, whose NextAttemptAt is unset or not after
	// now, and whose lease is free or expired (one held by owner itself is
	// not claimed again). Concurrent claims never lease one endpoint twice
	// (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the single writer).
	ClaimWebhookEndpoints(ctx context.Context, owner string, now time.Time, ttl time.Duration, limit int) ([]WebhookEndpoint, error)
	// RenewWebhookLease extends owner's lease on the endpoint to now+ttl.
	RenewWebhookLease(ctx context.Context, owner, endpointID string, now time.Time, ttl time.Duration) error
	// NextWebhookEvent returns the first event after the endpoint's cursor
	// that its EventTypes select, moving the cursor past the events before it
	// that they do not (and past pruned ones); false, the cursor moved to
	// the log's last Seq, when there is none. It also returns the endpoint
	// as stored.
	NextWebhookEvent(ctx context.Context, owner, endpointID string, now time.Time) (WebhookEndpoint, Event, bool, error)
	// RecordWebhookAttempt stores a.Delivery and applies it to the endpoint
	// (see WebhookAttempt) in one transaction, and returns the endpoint.
	// a.Delivery.EventSeq must be the event after the cursor that
	// NextWebhookEvent returned.
	RecordWebhookAttempt(ctx context.Context, owner string, now time.Time, a WebhookAttempt) (WebhookEndpoint, error)
	// ReleaseWebhookLease gives the lease up (no error if owner does not
	// hold it).
	ReleaseWebhookLease(ctx context.Context, owner, endpointID string) error
	// RecordManualWebhookDelivery stores a manual attempt (d.Manual is set
	// by the store); it needs no lease and changes nothing else.
	// NotFound("webhook_endpoint") if the endpoint is not d.WorkspaceID's.
	RecordManualWebhookDelivery(ctx context.Context, d WebhookDelivery) (WebhookDelivery, error)
	// PruneWebhookDeliveries deletes, oldest first, at most limit attempts
	// (of any endpoint) made before before, in one short transaction, and
	// returns how many it deleted (fewer than limit: none older is left).
	// The server prunes them a week after the event log's retention.
	PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
}
