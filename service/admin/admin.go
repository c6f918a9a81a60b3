// Package admin is the one set of administrative operations on workspaces and
// API keys — create a workspace with its first admin key, create and revoke
// keys, change a plan — used alike by the CLI, the first start and the API.
package admin

import (
	"context"
	"slices"
	"time"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/service/textfield"
	"github.com/example/workspace/store"
)

// Store is what the operations need of a store.
type Store interface {
	Bootstrap(ctx context.Context, ws store.Workspace, key store.APIKey) (bool, error)
	CreateWorkspaceWithKey(ctx context.Context, ws store.Workspace, key store.APIKey) error
	SetWorkspacePlan(ctx context.Context, id, plan string) error
	CreateAPIKey(ctx context.Context, k store.APIKey) error
	GetAPIKey(ctx context.Context, id string) (store.APIKey, error)
	RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) (store.APIKey, error)
}

// Names the operations give to what they create themselves.
const (
	FirstStartWorkspaceName = "Default workspace"
	FirstStartKeyName       = "Admin key (first start)"
	FirstKeyName            = "Admin key"
)

// MaxKeyNameLength and MaxWorkspaceNameLength are the longest names, in
// characters (CONTRACT §3 gives names 200).
const (
	MaxKeyNameLength       = 200
	MaxWorkspaceNameLength = 200
)

// Ops runs the operations against one store.
type Ops struct {
	store Store
	now   func() time.Time
	// revoked is told of every key revoked here, so that a cache of
	// authentications in this process drops it at once.
	revoked func(keyID string)
}

// Option configures Ops.
type Option func(*Ops)

// OnRevoke makes Ops tell f of every key it revokes (the server passes its
// authenticator's Forget, so its own key cache never outlives a revocation).
func OnRevoke(f func(keyID string)) Option { return func(o *Ops) { o.revoked = f } }

// New returns the operations on st; now is the clock.
func New(st Store, now func() time.Time, opts ...Option) *Ops {
	o := &Ops{store: st, now: now}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Times are kept at microsecond precision, the store's.
func (o *Ops) clock() time.Time { return o.now().UTC().Truncate(time.Microsecond) }

// Created is a new workspace with its first key. Secret is the key's secret,
// which is never stored: it must be shown now or it is lost.
type Created struct {
	Workspace store.Workspace
	Key       store.APIKey
	Secret    string
}

// WorkspaceSpec describes a workspace to create, with its first key.
type WorkspaceSpec struct {
	Name string
	Plan string
	// KeyName and KeyScopes describe the first key; when empty it is
	// FirstKeyName with the admin scope, which is what an operator needs to
	// make the other keys through the API.
	KeyName   string
	KeyScopes []string
}

// CreateWorkspace creates a workspace and its first key in one transaction:
// a failure leaves neither behind, so no workspace exists that no key reaches.
func (o *Ops) CreateWorkspace(ctx context.Context, spec WorkspaceSpec) (Created, error) {
	name, err := WorkspaceName(spec.Name)
	if err != nil {
		return Created{}, err
	}
	if err := CheckPlan(spec.Plan); err != nil {
		return Created{}, err
	}
	keyName, scopes := spec.KeyName, []string{auth.ScopeAdmin}
	if keyName == "" {
		keyName = FirstKeyName
	}
	if len(spec.KeyScopes) > 0 {
		if scopes, err = NormalizeScopes(spec.KeyScopes); err != nil {
			return Created{}, err
		}
	}
	c := o.newWorkspace(name, spec.Plan, keyName, scopes)
	if err := o.store.CreateWorkspaceWithKey(ctx, c.Workspace, c.Key); err != nil {
		return Created{}, err
	}
	return c, nil
}

// Bootstrap gives an empty store its first workspace, on the free plan, with
// an admin key, and reports whether it did: false (and no secret) when the
// store already holds a workspace. Of replicas starting together on one
// database, exactly one creates it.
func (o *Ops) Bootstrap(ctx context.Context) (Created, bool, error) {
	c := o.newWorkspace(FirstStartWorkspaceName, ratelimit.Free.Name, FirstStartKeyName, []string{auth.ScopeAdmin})
	created, err := o.store.Bootstrap(ctx, c.Workspace, c.Key)
	if err != nil || !created {
		return Created{}, false, err
	}
	return c, true, nil
}

func (o *Ops) newWorkspace(name, plan, keyName string, scopes []string) Created {
	now := o.clock()
	ws := store.Workspace{ID: ids.New(ids.Workspace), Name: name, Plan: plan, CreatedAt: now}
	key, secret := newKey(ws.ID, keyName, scopes, now, nil)
	return Created{Workspace: ws, Key: key, Secret: secret}
}

// KeySpec describes a key to create.
type KeySpec struct {
	WorkspaceID string
	Name        string
	// Scopes are checked and normalised by NormalizeScopes.
	Scopes []string
	// ExpiresAt, if set, must be in the future.
	ExpiresAt *time.Time
}

// CreateKey creates a key and returns it with its secret, shown only this
// once. NotFound("workspace") if the workspace does not exist.
func (o *Ops) CreateKey(ctx context.Context, spec KeySpec) (store.APIKey, string, error) {
	if err := textfield.Optional("name", "Name", spec.Name, MaxKeyNameLength); err != nil {
		return store.APIKey{}, "", err
	}
	scopes, err := NormalizeScopes(spec.Scopes)
	if err != nil {
		return store.APIKey{}, "", err
	}
	now := o.clock()
	if spec.ExpiresAt != nil && !spec.ExpiresAt.After(now) {
		return store.APIKey{}, "", apierror.Validation("expires_at", "expires_at must be a time in the future")
	}
	k, secret := newKey(spec.WorkspaceID, spec.Name, scopes, now, spec.ExpiresAt)
	if err := o.store.CreateAPIKey(ctx, k); err != nil {
		return store.APIKey{}, "", err
	}
	return k, secret, nil
}

// RevokeKey revokes a key of the workspace (revoking it again keeps the first
// time) and returns it; NotFound("api_key") if the workspace has no such key.
// This process' key cache forgets it at once; other processes cache a key
// for up to auth.DefaultCacheTTL.
func (o *Ops) RevokeKey(ctx context.Context, workspaceID, keyID string) (store.APIKey, error) {
	k, err := o.store.RevokeAPIKey(ctx, workspaceID, keyID, o.clock())
	if err != nil {
		return store.APIKey{}, err
	}
	if o.revoked != nil {
		o.revoked(k.ID)
	}
	return k, nil
}

// RevokeKeyAnyWorkspace is RevokeKey for operators, who name a key by its id
// alone. It is never for API callers: they may only reach their own workspace.
func (o *Ops) RevokeKeyAnyWorkspace(ctx context.Context, keyID string) (store.APIKey, error) {
	k, err := o.store.GetAPIKey(ctx, keyID)
	if err != nil {
		return store.APIKey{}, err
	}
	return o.RevokeKey(ctx, k.WorkspaceID, k.ID)
}

// SetPlan moves a workspace to plan; NotFound("workspace") if it does not
// exist. Servers see the new plan within their key cache's TTL.
func (o *Ops) SetPlan(ctx context.Context, workspaceID, plan string) error {
	if err := CheckPlan(plan); err != nil {
		return err
	}
	return o.store.SetWorkspacePlan(ctx, workspaceID, plan)
}

// WorkspaceName trims name and checks it as every name is checked (1–200
// characters, no NUL).
func WorkspaceName(name string) (string, error) {
	return textfield.Required("name", "Name", name, MaxWorkspaceNameLength)
}

// CheckPlan checks that plan names a plan.
func CheckPlan(plan string) error {
	if _, err := ratelimit.PlanNamed(plan); err != nil {
		return apierror.Validation("plan", err.Error())
	}
	return nil
}

// NormalizeScopes checks scopes and returns them without duplicates, in the
// order auth.Scopes lists them. The error names the first unknown scope.
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

// newKey makes a key record and its secret: every key is made here.
func newKey(workspaceID, name string, scopes []string, now time.Time, expiresAt *time.Time) (store.APIKey, string) {
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
