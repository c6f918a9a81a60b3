package service

import (
	"context"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/service/textfield"
	"github.com/example/workspace/store"
)

type projects struct {
	workspacev1.UnimplementedProjectServiceServer
	Deps
}

func (s *projects) ListProjects(ctx context.Context, req *workspacev1.ListProjectsRequest) (*workspacev1.ListProjectsResponse, error) {
	filter, filterKey, err := projectFilter(req)
	if err != nil {
		return nil, err
	}
	list := func(ctx context.Context, workspaceID string, pg store.Page) ([]store.Project, int, error) {
		return s.Store.ListProjects(ctx, workspaceID, filter, pg)
	}
	lr := listRequest{limit: req.Limit, offset: req.Offset, pageToken: req.PageToken, orderBy: req.OrderBy}
	data, pg, next, err := listPage(ctx, lr, projectList, filterKey, list, projectPB)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.ListProjectsResponse{Data: data, Pagination: pg, NextPageToken: next}, nil
}

func (s *projects) CreateProject(ctx context.Context, req *workspacev1.CreateProjectRequest) (*workspacev1.CreateProjectResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	name, err := textfield.Required("name", "Name", req.Name, maxNameLength)
	if err != nil {
		return nil, err
	}
	if err := textfield.Optional("description", "Description", req.Description, maxDescriptionLength); err != nil {
		return nil, err
	}
	now := s.now()
	pr := store.Project{
		ID:          ids.New(ids.Project),
		WorkspaceID: p.WorkspaceID,
		Name:        name,
		Description: req.Description,
		CreatedAt:   now,
		UpdatedAt:   now,
		Version:     1, // what the store stores for a new record
	}
	if err := s.Store.CreateProject(ctx, pr); err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.CreateProjectResponse{Project: projectPB(pr)}, nil
}

func (s *projects) GetProject(ctx context.Context, req *workspacev1.GetProjectRequest) (*workspacev1.GetProjectResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("project", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	pr, err := s.Store.GetProject(ctx, p.WorkspaceID, req.Id)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.GetProjectResponse{Project: projectPB(pr)}, nil
}

func (s *projects) UpdateProject(ctx context.Context, req *workspacev1.UpdateProjectRequest) (*workspacev1.UpdateProjectResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	u := req.GetProject()
	if u == nil {
		u = &workspacev1.ProjectUpdate{}
	}
	paths, err := updatePaths(req.GetUpdateMask().GetPaths(), presence(u), "name", "description")
	if err != nil {
		return nil, err
	}
	var name string
	if paths["name"] {
		if name, err = textfield.Required("name", "Name", u.GetName(), maxNameLength); err != nil {
			return nil, err
		}
	}
	if paths["description"] {
		if err := textfield.Optional("description", "Description", u.GetDescription(), maxDescriptionLength); err != nil {
			return nil, err
		}
	}
	if err := knownID("project", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	check, err := precondition(ctx, req.Etag, "project")
	if err != nil {
		return nil, err
	}
	now := s.now()
	pr, err := s.Store.UpdateProject(ctx, p.WorkspaceID, req.Id, func(pr *store.Project) error {
		if check != nil {
			if err := check(pr.Version); err != nil {
				return err
			}
		}
		if paths["name"] {
			pr.Name = name
		}
		if paths["description"] {
			pr.Description = u.GetDescription()
		}
		pr.UpdatedAt = now
		return nil
	})
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.UpdateProjectResponse{Project: projectPB(pr)}, nil
}

func (s *projects) DeleteProject(ctx context.Context, req *workspacev1.DeleteProjectRequest) (*workspacev1.DeleteProjectResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("project", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	check, err := precondition(ctx, req.Etag, "project")
	if err != nil {
		return nil, err
	}
	if check == nil {
		err = s.Store.DeleteProject(ctx, p.WorkspaceID, req.Id)
	} else {
		err = s.Store.DeleteProjectIf(ctx, p.WorkspaceID, req.Id, func(pr store.Project) error { return check(pr.Version) })
	}
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.DeleteProjectResponse{Id: req.Id, Deleted: true}, nil
}
