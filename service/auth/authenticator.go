package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/store"
)

// Principal is who is calling: a key of a workspace.
type Principal struct {
	WorkspaceID string
	KeyID       string
	Scopes      []string
	// Plan is the workspace's plan name as stored now.
	Plan string
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the authenticated principal, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// TouchInterval is how stale last_used_at may get: the authenticator writes it
// at most once per key in this interval instead of on every call.
const TouchInterval = time.Minute

// Authenticator turns an Authorization header value into a Principal.
type Authenticator struct {
	store store.KeyLookup
	now   func() time.Time
	cache *keyCache
}

// NewAuthenticator returns an Authenticator over st's key look-ups; now is the
// clock, and cacheTTL how long a looked-up key is trusted (0 looks up every
// request).
func NewAuthenticator(st store.KeyLookup, now func() time.Time, cacheTTL time.Duration) *Authenticator {
	return &Authenticator{store: st, now: now, cache: newKeyCache(cacheTTL)}
}

// Forget drops a key from the cache, so that its revocation through this
// server takes effect at the next request.
func (a *Authenticator) Forget(keyID string) { a.cache.forget(keyID) }

// ForgetAll empties the cache, after a change the server made to workspaces
// behind the API's back (tests, in-process tools).
func (a *Authenticator) ForgetAll() { a.cache.forgetAll() }

// Authenticate checks "Bearer <key>". Every refusal is an UNAUTHORIZED
// *apierror.Error; a store failure is returned as is.
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	if authorization == "" {
		return Principal{}, unauthorized("Missing API key: send the header Authorization: Bearer <key>")
	}
	scheme, key, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, unauthorized("The Authorization header must be: Bearer <key>")
	}
	key = strings.TrimSpace(key)
	if CheckFormat(key) != nil {
		return Principal{}, unauthorized("Invalid API key")
	}
	hash := sha256.Sum256([]byte(key))
	e, ok := a.cache.get(hash)
	if !ok {
		k, ws, err := a.store.LookupAPIKey(ctx, hash[:])
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, unauthorized("Invalid API key")
		}
		if err != nil {
			return Principal{}, err
		}
		e = a.cache.put(hash, k, ws)
	}
	k, ws := e.key, e.ws
	// The look-up matched on the hash already; comparing again in constant time
	// keeps the decision itself free of data-dependent timing.
	if subtle.ConstantTimeCompare(k.Hash, hash[:]) != 1 {
		return Principal{}, unauthorized("Invalid API key")
	}
	now := a.now()
	if k.RevokedAt != nil && !now.Before(*k.RevokedAt) {
		return Principal{}, unauthorized("API key has been revoked")
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return Principal{}, unauthorized("API key has expired")
	}
	if last := e.lastUsed.Load(); last == nil || now.Sub(*last) >= TouchInterval {
		at := now.Truncate(time.Second)
		if err := a.store.TouchAPIKey(ctx, k.ID, at); err != nil {
			return Principal{}, err
		}
		e.lastUsed.Store(&at)
	}
	return Principal{WorkspaceID: ws.ID, KeyID: k.ID, Scopes: k.Scopes, Plan: ws.Plan}, nil
}

func unauthorized(msg string) error {
	return apierror.New(apierror.CodeUnauthorized, msg, nil)
}
