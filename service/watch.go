package service

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// WatchEvents streams the log. Not served yet: the stream, its hub and its
// limits come with the rest of issue 13.
func (s *events) WatchEvents(*workspacev1.WatchEventsRequest, workspacev1.EventService_WatchEventsServer) error {
	return status.Error(codes.Unimplemented, "WatchEvents is not served yet")
}
