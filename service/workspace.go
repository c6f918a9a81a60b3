package service

import (
	"context"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/service/ratelimit"
)

type workspaces struct {
	workspacev1.UnimplementedWorkspaceServiceServer
	Deps
}

func (s *workspaces) GetWorkspace(ctx context.Context, _ *workspacev1.GetWorkspaceRequest) (*workspacev1.GetWorkspaceResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	ws, err := s.Store.GetWorkspace(ctx, p.WorkspaceID)
	if err != nil {
		return nil, apierror.From(err)
	}
	plan, err := ratelimit.PlanNamed(ws.Plan)
	if err != nil {
		return nil, apierror.Internal(err)
	}
	u, err := s.Limiter.Usage(ctx, ws.ID, plan)
	if err != nil {
		return nil, apierror.From(err)
	}
	out := workspacePB(ws)
	out.Usage = &workspacev1.Usage{
		Minute: usageWindow(u.Minute),
		Day:    usageWindow(u.Day),
	}
	return &workspacev1.GetWorkspaceResponse{Workspace: out}, nil
}

func usageWindow(w ratelimit.WindowUsage) *workspacev1.UsageWindow {
	out := &workspacev1.UsageWindow{Used: clamp32(w.Used), ResetAt: ts(w.Reset)}
	if w.Limit > 0 {
		out.Limit = wrapperspb.Int32(clamp32(w.Limit))
		out.Remaining = wrapperspb.Int32(clamp32(max(w.Limit-w.Used, 0)))
	}
	return out
}
