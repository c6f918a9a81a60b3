package auth

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/example/workspace/store"
)

// DefaultCacheTTL is how long a looked-up key is trusted without asking the
// store again. It bounds how stale a replica can be about a change made
// elsewhere — a key revoked through another replica or the CLI, a plan changed
// with the CLI. A revocation through this replica's API takes effect at once
// (Forget).
const DefaultCacheTTL = time.Second

// maxCached bounds the cache; past it, the entries that are too old to be
// used are dropped first, then arbitrary ones.
const maxCached = 10000

// cached is immutable once made, but for lastUsed, which requests move
// forward concurrently.
type cached struct {
	key       store.APIKey
	ws        store.Workspace
	fetchedAt time.Time
	lastUsed  atomic.Pointer[time.Time]
}

// keyCache maps the SHA-256 of a key to what the store said about it. It
// caches only keys that exist: unknown keys always reach the store.
type keyCache struct {
	ttl time.Duration

	mu     sync.RWMutex
	byHash map[[32]byte]*cached
	byID   map[string][32]byte
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, byHash: map[[32]byte]*cached{}, byID: map[string][32]byte{}}
}

// get returns a fresh entry, if any. Freshness is wall-clock time, not the
// API's clock: it is about the store's state, not about the request.
func (c *keyCache) get(h [32]byte) (*cached, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.byHash[h]
	c.mu.RUnlock()
	if !ok || time.Since(e.fetchedAt) >= c.ttl {
		return nil, false
	}
	return e, true
}

func (c *keyCache) put(h [32]byte, k store.APIKey, ws store.Workspace) *cached {
	e := &cached{key: k, ws: ws, fetchedAt: time.Now()}
	e.lastUsed.Store(k.LastUsedAt)
	if c.ttl <= 0 {
		return e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byHash) >= maxCached {
		c.evictLocked()
	}
	c.byHash[h] = e
	c.byID[k.ID] = h
	return e
}

func (c *keyCache) evictLocked() {
	for h, e := range c.byHash {
		if time.Since(e.fetchedAt) >= c.ttl {
			delete(c.byHash, h)
			delete(c.byID, e.key.ID)
		}
	}
	for h, e := range c.byHash {
		if len(c.byHash) < maxCached {
			return
		}
		delete(c.byHash, h)
		delete(c.byID, e.key.ID)
	}
}

func (c *keyCache) forget(keyID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.byID[keyID]; ok {
		delete(c.byHash, h)
		delete(c.byID, keyID)
	}
}

func (c *keyCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byHash)
	clear(c.byID)
}
