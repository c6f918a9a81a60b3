package service

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// events serves EventService: the workspace's event log.
type events struct {
	workspacev1.UnimplementedEventServiceServer
	Deps
}

// ListEvents lists the log, oldest first.
func (s *events) ListEvents(context.Context, *workspacev1.ListEventsRequest) (*workspacev1.ListEventsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "ListEvents is not served yet")
}
