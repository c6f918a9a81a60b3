// Package service implements the gRPC services of the Workspace API on top of
// the store's roles: input validation, domain rules and the mapping to protobuf.
package service

import (
	"context"
	"time"

	"google.golang.org/grpc"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/service/admin"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/eventhub"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/store"
)

// Store is what the handlers read and write: the caller's workspace, its
// projects, tasks, keys and event log. One interface for the services, which share
// Deps; it leaves out what is not theirs: authenticating a key
// (store.KeyLookup), Idempotency-Key records (store.IdempotencyKeys), Ping and
// Close (the server's).
type Store interface {
	store.Workspaces
	store.Projects
	store.Tasks
	store.APIKeys
	store.Events
}

// Deps are what the services need.
type Deps struct {
	Store   Store
	Limiter ratelimit.Limiter
	// Now is the clock; times are kept at microsecond precision.
	Now func() time.Time
	// Admin runs the key handlers' writes (create, revoke): the same
	// operations as the CLI's and the first start's.
	Admin *admin.Ops
	// Hub follows the event log for WatchEvents; Streams counts the open
	// streams against each plan's bound.
	Hub     *eventhub.Hub
	Streams *ratelimit.Streams
	// RecheckEvery is how often an open stream's key is authenticated
	// again: the key cache's TTL, so that a revoked key's streams end
	// within the bound its requests are refused in.
	RecheckEvery time.Duration
	// Webhooks are the webhook handlers' store, URL rule and sender.
	Webhooks WebhookDeps
}

// Register registers every service of the API on s.
func Register(s grpc.ServiceRegistrar, d Deps) {
	workspacev1.RegisterProjectServiceServer(s, &projects{Deps: d})
	workspacev1.RegisterTaskServiceServer(s, &tasks{Deps: d})
	workspacev1.RegisterApiKeyServiceServer(s, &apiKeys{Deps: d})
	workspacev1.RegisterWorkspaceServiceServer(s, &workspaces{Deps: d})
	workspacev1.RegisterEventServiceServer(s, &events{Deps: d})
	workspacev1.RegisterWebhookServiceServer(s, &webhooks{Deps: d})
}

func (d Deps) now() time.Time { return d.Now().UTC().Truncate(time.Microsecond) }

// principal returns the caller. The auth interceptor runs before every API
// method, so its absence is a wiring bug, reported as an internal error.
func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apierror.Internal(errNoPrincipal)
	}
	return p, nil
}

type wiringError string

func (e wiringError) Error() string { return string(e) }

const errNoPrincipal = wiringError("service: no principal in context; is the auth interceptor installed?")
