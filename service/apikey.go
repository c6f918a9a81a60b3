package service

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/service/admin"
)

type apiKeys struct {
	workspacev1.UnimplementedApiKeyServiceServer
	Deps
}

func (s *apiKeys) ListApiKeys(ctx context.Context, req *workspacev1.ListApiKeysRequest) (*workspacev1.ListApiKeysResponse, error) {
	lr := listRequest{limit: req.Limit, offset: req.Offset, pageToken: req.PageToken}
	data, pg, next, err := listPage(ctx, lr, apiKeyList, "", s.Store.ListAPIKeys, apiKeyPB)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.ListApiKeysResponse{Data: data, Pagination: pg, NextPageToken: next}, nil
}

func (s *apiKeys) CreateApiKey(ctx context.Context, req *workspacev1.CreateApiKeyRequest) (*workspacev1.CreateApiKeyResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	// An out-of-range timestamp is the wire's concern; the rest of the key's
	// rules are admin's.
	if req.ExpiresAt != nil && req.ExpiresAt.CheckValid() != nil {
		return nil, apierror.Validation("expires_at", "expires_at must be a time in the future")
	}
	k, secret, err := s.Admin.CreateKey(ctx, admin.KeySpec{
		WorkspaceID: p.WorkspaceID,
		Name:        req.Name,
		Scopes:      req.Scopes,
		ExpiresAt:   timePtr(req.ExpiresAt),
	})
	if err != nil {
		return nil, apierror.From(err)
	}
	// The one response that carries a secret must not be cached anywhere.
	_ = grpc.SetHeader(ctx, metadata.Pairs("cache-control", "no-store"))
	out := apiKeyPB(k)
	out.Key = &secret
	return &workspacev1.CreateApiKeyResponse{ApiKey: out}, nil
}

func (s *apiKeys) DeleteApiKey(ctx context.Context, req *workspacev1.DeleteApiKeyRequest) (*workspacev1.DeleteApiKeyResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := knownID("api_key", req.Id); err != nil {
		return nil, apierror.From(err)
	}
	if _, err := s.Admin.RevokeKey(ctx, p.WorkspaceID, req.Id); err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.DeleteApiKeyResponse{Id: req.Id, Deleted: true}, nil
}
