package service

import (
	"context"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/store"
)

type apiKeys struct {
	workspacev1.UnimplementedApiKeyServiceServer
	Deps
}

func (s *apiKeys) ListApiKeys(ctx context.Context, req *workspacev1.ListApiKeysRequest) (*workspacev1.ListApiKeysResponse, error) {
	data, pg, err := listPage(ctx, req.Limit, req.Offset, s.Store.ListAPIKeys, apiKeyPB)
	if err != nil {
		return nil, apierror.From(err)
	}
	return &workspacev1.ListApiKeysResponse{Data: data, Pagination: pg}, nil
}

func (s *apiKeys) CreateApiKey(ctx context.Context, req *workspacev1.CreateApiKeyRequest) (*workspacev1.CreateApiKeyResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := optionalText("name", "Name", req.Name, maxNameLength); err != nil {
		return nil, err
	}
	scopes, err := NormalizeScopes(req.Scopes)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if req.ExpiresAt != nil {
		if err := req.ExpiresAt.CheckValid(); err != nil || !req.ExpiresAt.AsTime().After(now) {
			return nil, apierror.Validation("expires_at", "expires_at must be a time in the future")
		}
	}
	k, secret := NewAPIKey(p.WorkspaceID, req.Name, scopes, now, timePtr(req.ExpiresAt))
	if err := s.Store.CreateAPIKey(ctx, k); err != nil {
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
	if _, err := s.Store.RevokeAPIKey(ctx, p.WorkspaceID, req.Id, s.now()); err != nil {
		return nil, apierror.From(err)
	}
	if s.Revoked != nil {
		s.Revoked(req.Id)
	}
	return &workspacev1.DeleteApiKeyResponse{Id: req.Id, Deleted: true}, nil
}

// NormalizeScopes checks scopes and returns them without duplicates, in the
// order auth.Scopes lists them.
func NormalizeScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, apierror.Validation("scopes", "scopes must list at least one of read, write, delete, admin")
	}
	for _, sc := range scopes {
		if !auth.ValidScope(sc) {
			return nil, apierror.Validation("scopes", "Unknown scope \""+sc+"\": use read, write, delete or admin")
		}
	}
	var out []string
	for _, sc := range auth.Scopes {
		if slices.Contains(scopes, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// NewAPIKey makes a key record and its secret; the CLI and the first start use
// it too, so every key is made the same way.
func NewAPIKey(workspaceID, name string, scopes []string, now time.Time, expiresAt *time.Time) (store.APIKey, string) {
	secret, prefix, hash := auth.NewKey()
	return store.APIKey{
		ID:          ids.New(ids.APIKey),
		WorkspaceID: workspaceID,
		Name:        name,
		Scopes:      scopes,
		Prefix:      prefix,
		Hash:        hash,
		CreatedAt:   now,
		ExpiresAt:   expiresAt,
	}, secret
}
