// Package service implements the gRPC services of the Workspace API on top of a
// store.Store: input validation, domain rules and the mapping to protobuf.
package service

import (
	"context"
	"time"

	"google.golang.org/grpc"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/store"
)

// Deps are what the services need.
type Deps struct {
	Store   store.Store
	Limiter ratelimit.Limiter
	// Now is the clock; times are kept at microsecond precision.
	Now func() time.Time
	// Revoked, if set, is told of each key revoked through the API, so that
	// cached authentications of it end at once.
	Revoked func(keyID string)
}

// Register registers every service of the API on s.
func Register(s grpc.ServiceRegistrar, d Deps) {
	workspacev1.RegisterProjectServiceServer(s, &projects{Deps: d})
	workspacev1.RegisterTaskServiceServer(s, &tasks{Deps: d})
	workspacev1.RegisterApiKeyServiceServer(s, &apiKeys{Deps: d})
	workspacev1.RegisterWorkspaceServiceServer(s, &workspaces{Deps: d})
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
