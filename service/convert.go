package service

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/service/etag"
	"github.com/example/workspace/store"
)

// ts presents a stored time at whole seconds (CONTRACT §2); the store keeps
// more precision so that lists order truly newest first.
func ts(t time.Time) *timestamppb.Timestamp {
	return timestamppb.New(t.UTC().Truncate(time.Second))
}

func tsPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func timePtr(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime().UTC().Truncate(time.Second)
	return &v
}

func projectPB(p store.Project) *workspacev1.Project {
	return &workspacev1.Project{
		Id:          p.ID,
		Name:        p.Name,
		Description: p.Description,
		CreatedAt:   ts(p.CreatedAt),
		UpdatedAt:   ts(p.UpdatedAt),
		Etag:        etag.Of(p.Version),
	}
}

func taskPB(t store.Task) *workspacev1.Task {
	return &workspacev1.Task{
		Id:          t.ID,
		ProjectId:   t.ProjectID,
		Title:       t.Title,
		Description: t.Description,
		Status:      t.Status,
		DueAt:       tsPtr(t.DueAt),
		CompletedAt: tsPtr(t.CompletedAt),
		CreatedAt:   ts(t.CreatedAt),
		UpdatedAt:   ts(t.UpdatedAt),
		Etag:        etag.Of(t.Version),
	}
}

func apiKeyPB(k store.APIKey) *workspacev1.ApiKey {
	return &workspacev1.ApiKey{
		Id:         k.ID,
		Name:       k.Name,
		Scopes:     k.Scopes,
		Prefix:     k.Prefix,
		CreatedAt:  ts(k.CreatedAt),
		LastUsedAt: tsPtr(k.LastUsedAt),
		ExpiresAt:  tsPtr(k.ExpiresAt),
		RevokedAt:  tsPtr(k.RevokedAt),
	}
}

// workspacePB is the stored workspace; GetWorkspace adds its usage.
func workspacePB(ws store.Workspace) *workspacev1.Workspace {
	return &workspacev1.Workspace{
		Id:        ws.ID,
		Name:      ws.Name,
		Plan:      ws.Plan,
		CreatedAt: ts(ws.CreatedAt),
	}
}

func pagination(p store.Page, n, total int) *workspacev1.Pagination {
	return &workspacev1.Pagination{
		Total:   clamp32(total),
		Limit:   clamp32(p.Limit),
		Offset:  clamp32(p.Offset),
		HasMore: p.Offset+n < total,
	}
}

func clamp32(n int) int32 {
	if n > 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(n)
}
