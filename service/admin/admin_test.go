package admin_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/service/admin"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/store"
	"github.com/example/workspace/store/postgres"
	"github.com/example/workspace/store/postgres/pgtest"
	"github.com/example/workspace/store/sqlite"
)

// backends runs f on a fresh SQLite store, and on a fresh PostgreSQL
// database when one is configured.
func backends(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "workspace.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		f(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		f(t, st)
	})
}

var epoch = time.Date(2026, 3, 10, 12, 0, 30, 123456789, time.UTC)

func clock() time.Time { return epoch }

// checkValidation wants a VALIDATION_ERROR naming field, whose message
// contains want.
func checkValidation(t *testing.T, what string, err error, field, want string) {
	t.Helper()
	e, ok := apierror.As(err)
	if !ok || e.Code != apierror.CodeValidation || e.Details["field"] != field || !strings.Contains(e.Message, want) {
		t.Errorf("%s: err = %v, want VALIDATION_ERROR on %q mentioning %q", what, err, field, want)
	}
}

func TestCreateWorkspace(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		ops := admin.New(st, clock)
		c, err := ops.CreateWorkspace(ctx, admin.WorkspaceSpec{Name: "  Acme  ", Plan: "pro"})
		if err != nil {
			t.Fatalf("CreateWorkspace: %v", err)
		}
		if !strings.HasPrefix(c.Workspace.ID, "ws_") || c.Workspace.Name != "Acme" || c.Workspace.Plan != "pro" {
			t.Errorf("workspace = %+v, want a ws_ id, the trimmed name, plan pro", c.Workspace)
		}
		// The secret printed is the stored key's, an admin key of this
		// workspace.
		k, ws, err := st.LookupAPIKey(ctx, auth.Hash(c.Secret))
		if err != nil {
			t.Fatalf("LookupAPIKey(the first key's secret): %v", err)
		}
		if ws.ID != c.Workspace.ID || k.ID != c.Key.ID || k.Name != admin.FirstKeyName || !slices.Equal(k.Scopes, []string{auth.ScopeAdmin}) || !k.CreatedAt.Equal(epoch.Truncate(time.Microsecond)) {
			t.Errorf("first key = %+v of %s; want %s, %q, [admin], created %v", k, ws.ID, c.Key.ID, admin.FirstKeyName, epoch)
		}

		// A first key of other scopes (the test harness's), normalised.
		c2, err := ops.CreateWorkspace(ctx, admin.WorkspaceSpec{Name: "B", Plan: "free", KeyName: "reader", KeyScopes: []string{"write", "read", "read"}})
		if err != nil {
			t.Fatalf("CreateWorkspace with scopes: %v", err)
		}
		if k, _, err := st.LookupAPIKey(ctx, auth.Hash(c2.Secret)); err != nil || k.Name != "reader" || !slices.Equal(k.Scopes, []string{"read", "write"}) {
			t.Errorf("first key with scopes = %+v, %v; want reader, [read write]", k, err)
		}
	})
}

// TestCreateWorkspaceRefusals: a refused creation stores nothing. (That both
// records are written in one transaction is the store's promise, proved by
// storetest's Workspace/CreateWithKeyAtomic: admin.Store has no method that
// writes a workspace alone.)
func TestCreateWorkspaceRefusals(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		ops := admin.New(st, clock)
		for _, tc := range []struct {
			spec         admin.WorkspaceSpec
			field, inMsg string
		}{
			{admin.WorkspaceSpec{Name: " ", Plan: "free"}, "name", "Name is required"},
			{admin.WorkspaceSpec{Name: "A", Plan: "platinum"}, "plan", `"platinum"`},
			{admin.WorkspaceSpec{Name: "A", Plan: "free", KeyScopes: []string{"read", "bogus"}}, "scopes", `"bogus"`},
		} {
			_, err := ops.CreateWorkspace(ctx, tc.spec)
			checkValidation(t, "CreateWorkspace("+tc.spec.Name+", "+tc.spec.Plan+")", err, tc.field, tc.inMsg)
		}
		// The store is still empty: the first start would bootstrap it.
		if _, created, err := ops.Bootstrap(ctx); err != nil || !created {
			t.Errorf("Bootstrap after refused creations = %v, %v; want true: something was stored", created, err)
		}
	})
}

func TestBootstrap(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		ops := admin.New(st, clock)
		c, created, err := ops.Bootstrap(ctx)
		if err != nil || !created {
			t.Fatalf("Bootstrap on an empty store = %v, %v; want true", created, err)
		}
		k, ws, err := st.LookupAPIKey(ctx, auth.Hash(c.Secret))
		if err != nil || ws.ID != c.Workspace.ID || ws.Name != admin.FirstStartWorkspaceName || ws.Plan != "free" ||
			k.Name != admin.FirstStartKeyName || !slices.Equal(k.Scopes, []string{auth.ScopeAdmin}) {
			t.Errorf("bootstrap key = %+v in %+v, %v; want the first start's admin key in a free workspace", k, ws, err)
		}
		again, created, err := ops.Bootstrap(ctx)
		if err != nil || created || again.Secret != "" {
			t.Errorf("second Bootstrap = %+v, %v, %v; want nothing created, no secret", again, created, err)
		}
	})
}

func TestCreateAndRevokeKey(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		var forgotten []string
		ops := admin.New(st, clock, admin.OnRevoke(func(id string) { forgotten = append(forgotten, id) }))
		a, err := ops.CreateWorkspace(ctx, admin.WorkspaceSpec{Name: "A", Plan: "free"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := ops.CreateWorkspace(ctx, admin.WorkspaceSpec{Name: "B", Plan: "free"})
		if err != nil {
			t.Fatal(err)
		}
		expires := epoch.Add(time.Hour).Truncate(time.Second)
		k, secret, err := ops.CreateKey(ctx, admin.KeySpec{WorkspaceID: a.Workspace.ID, Name: "CI", Scopes: []string{"write", "read"}, ExpiresAt: &expires})
		if err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		stored, _, err := st.LookupAPIKey(ctx, auth.Hash(secret))
		if err != nil || stored.ID != k.ID || stored.Name != "CI" || !slices.Equal(stored.Scopes, []string{"read", "write"}) ||
			stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(expires) {
			t.Errorf("stored key = %+v, %v", stored, err)
		}

		past := epoch.Add(-time.Second)
		for _, tc := range []struct {
			spec         admin.KeySpec
			field, inMsg string
		}{
			{admin.KeySpec{WorkspaceID: a.Workspace.ID, Scopes: []string{"read", "bogus"}}, "scopes", `"bogus"`},
			{admin.KeySpec{WorkspaceID: a.Workspace.ID}, "scopes", "at least one"},
			{admin.KeySpec{WorkspaceID: a.Workspace.ID, Scopes: []string{"read"}, ExpiresAt: &past}, "expires_at", "future"},
			{admin.KeySpec{WorkspaceID: a.Workspace.ID, Scopes: []string{"read"}, Name: strings.Repeat("é", admin.MaxKeyNameLength+1)}, "name", "200"},
		} {
			_, _, err := ops.CreateKey(ctx, tc.spec)
			checkValidation(t, "CreateKey("+tc.field+")", err, tc.field, tc.inMsg)
		}
		_, _, err = ops.CreateKey(ctx, admin.KeySpec{WorkspaceID: "ws_missing", Scopes: []string{"read"}})
		checkNotFound(t, "CreateKey(missing workspace)", err, "workspace")

		// Another workspace's key is not found, and not revoked.
		_, err = ops.RevokeKey(ctx, b.Workspace.ID, k.ID)
		checkNotFound(t, "RevokeKey(a key of another workspace)", err, "api_key")
		if len(forgotten) != 0 {
			t.Errorf("a refused revocation told the cache to forget %v", forgotten)
		}
		revoked, err := ops.RevokeKey(ctx, a.Workspace.ID, k.ID)
		if err != nil || revoked.RevokedAt == nil || !revoked.RevokedAt.Equal(epoch.Truncate(time.Microsecond)) {
			t.Errorf("RevokeKey = %+v, %v; want revoked at %v", revoked, err, epoch)
		}
		// The operators' form finds the workspace itself.
		if got, err := ops.RevokeKeyAnyWorkspace(ctx, b.Key.ID); err != nil || got.WorkspaceID != b.Workspace.ID || got.RevokedAt == nil {
			t.Errorf("RevokeKeyAnyWorkspace = %+v, %v", got, err)
		}
		_, err = ops.RevokeKeyAnyWorkspace(ctx, "key_missing")
		checkNotFound(t, "RevokeKeyAnyWorkspace(missing key)", err, "api_key")
		if !slices.Equal(forgotten, []string{k.ID, b.Key.ID}) {
			t.Errorf("keys forgotten = %v, want %v", forgotten, []string{k.ID, b.Key.ID})
		}
	})
}

func TestSetPlan(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		ops := admin.New(st, clock)
		c, err := ops.CreateWorkspace(ctx, admin.WorkspaceSpec{Name: "A", Plan: "free"})
		if err != nil {
			t.Fatal(err)
		}
		if err := ops.SetPlan(ctx, c.Workspace.ID, "enterprise"); err != nil {
			t.Fatalf("SetPlan: %v", err)
		}
		checkValidation(t, "SetPlan(platinum)", ops.SetPlan(ctx, c.Workspace.ID, "platinum"), "plan", `"platinum"`)
		if ws, err := st.GetWorkspace(ctx, c.Workspace.ID); err != nil || ws.Plan != "enterprise" {
			t.Errorf("workspace = %+v, %v; want plan enterprise", ws, err)
		}
		checkNotFound(t, "SetPlan(missing workspace)", ops.SetPlan(ctx, "ws_missing", "pro"), "workspace")
	})
}

func checkNotFound(t *testing.T, what string, err error, resource string) {
	t.Helper()
	var nf *store.NotFoundError
	if !errors.As(err, &nf) || nf.Resource != resource {
		t.Errorf("%s: err = %v, want NotFound(%q)", what, err, resource)
	}
}
