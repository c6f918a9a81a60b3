package storetest

import (
	"fmt"
	"testing"

	"github.com/example/workspace/store"
)

func testAPIKeyCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")

	full := newKey(a.ID, "key_full", at(1))
	full.Scopes = []string{"tasks:write", "projects:read", "admin"}
	full.Hash = append([]byte{0, 0, 0xff}, hashOf("full")[3:]...)
	full.LastUsedAt = ptr(at(2).UTC())
	full.RevokedAt = ptr(at(3))
	bare := store.APIKey{ID: "key_bare", WorkspaceID: a.ID, Prefix: "wsk_bar", Hash: hashOf("bare"), CreatedAt: at(4)}
	other := newKey(b.ID, "key_other", at(5))
	keys := []store.APIKey{full, bare, other}
	for _, k := range keys {
		in := k
		in.Scopes = append([]string(nil), k.Scopes...)
		in.Hash = append([]byte(nil), k.Hash...)
		if err := s.CreateAPIKey(ctx, in); err != nil {
			t.Fatalf("CreateAPIKey(%s): %v", k.ID, err)
		}
		// What the store keeps must not change with the caller's slices.
		if len(in.Scopes) > 0 {
			in.Scopes[0] = "changed"
		}
		in.Hash[0] ^= 0xff
	}
	// GetAPIKey is for operators and finds a key whatever its workspace.
	for _, want := range keys {
		got, err := s.GetAPIKey(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetAPIKey(%s): %v", want.ID, err)
		}
		checkKey(t, "GetAPIKey("+want.ID+")", got, want)
	}
	_, err := s.GetAPIKey(ctx, randomID)
	checkNotFound(t, "GetAPIKey(random id)", err, "api_key")
}

func testAPIKeyCreateErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	orig := mustKey(t, s, a.ID, "key_1", at(1))

	orphan := newKey(randomID, "key_orphan", at(2))
	checkNotFound(t, "CreateAPIKey(unknown workspace)", s.CreateAPIKey(ctx, orphan), "workspace")
	_, err := s.GetAPIKey(ctx, orphan.ID)
	checkNotFound(t, "GetAPIKey(key refused for its workspace)", err, "api_key")
	_, _, err = s.LookupAPIKey(ctx, orphan.Hash)
	checkNotFound(t, "LookupAPIKey(key refused for its workspace)", err, "api_key")

	for _, ws := range []string{a.ID, b.ID} {
		sameID := newKey(ws, orig.ID, at(3))
		sameID.Hash = hashOf("another secret " + ws)
		checkConflict(t, "CreateAPIKey(duplicate id in "+ws+")", s.CreateAPIKey(ctx, sameID))
		_, _, err := s.LookupAPIKey(ctx, sameID.Hash)
		checkNotFound(t, "LookupAPIKey(hash of a refused key)", err, "api_key")

		sameHash := newKey(ws, "key_2_"+ws, at(3))
		sameHash.Hash = orig.Hash
		checkConflict(t, "CreateAPIKey(duplicate hash in "+ws+")", s.CreateAPIKey(ctx, sameHash))
		_, err = s.GetAPIKey(ctx, sameHash.ID)
		checkNotFound(t, "GetAPIKey(key refused for its hash)", err, "api_key")
	}
	got, err := s.GetAPIKey(ctx, orig.ID)
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	checkKey(t, "key after the refused duplicates", got, orig)
	got, _, err = s.LookupAPIKey(ctx, orig.Hash)
	if err != nil {
		t.Fatalf("LookupAPIKey: %v", err)
	}
	checkKey(t, "LookupAPIKey after the refused duplicates", got, orig)
	for _, ws := range []string{a.ID, b.ID} {
		_, total, err := s.ListAPIKeys(ctx, ws, store.Page{Limit: 10})
		want := 0
		if ws == a.ID {
			want = 1
		}
		if err != nil || total != want {
			t.Errorf("ListAPIKeys(%s): total %d, err %v; want %d, nil", ws, total, err, want)
		}
	}
}

func testAPIKeyList(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	mustWorkspace(t, s, "ws_C")
	mustKey(t, s, b.ID, "key_other", at(6))

	var keys []store.APIKey
	for i, p := range listOrderProjects(a.ID) {
		k := newKey(a.ID, "key"+p.ID[len("proj"):], p.CreatedAt)
		// Revoked keys are listed like the others.
		if i%3 == 0 {
			k.RevokedAt = ptr(at(1000 + i))
		}
		if i%4 == 0 {
			k.LastUsedAt, k.ExpiresAt = ptr(at(2000+i)), nil
		}
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatalf("CreateAPIKey(%s): %v", k.ID, err)
		}
		keys = append(keys, k)
	}
	revoked := mustKey(t, s, a.ID, "key_revoked_later", at(4))
	if _, err := s.RevokeAPIKey(ctx, a.ID, revoked.ID, at(3000)); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	revoked.RevokedAt = ptr(at(3000))
	keys = append(keys, revoked)

	want := newestFirst(keys, apiKeyKey)
	got, total, err := s.ListAPIKeys(ctx, a.ID, store.Page{Limit: 100})
	if err != nil {
		t.Fatalf("ListAPIKeys: %v", err)
	}
	if total != len(want) {
		t.Errorf("ListAPIKeys: total %d, want %d", total, len(want))
	}
	checkRecords(t, "ListAPIKeys", got, want, keyID, checkKey)
	checkPages(t, "ListAPIKeys", mapIDs(want, keyID), func(p store.Page) ([]string, int, error) {
		got, total, err := s.ListAPIKeys(ctx, a.ID, p)
		return mapIDs(got, keyID), total, err
	})
	checkPages(t, "ListAPIKeys(empty workspace)", nil, func(p store.Page) ([]string, int, error) {
		got, total, err := s.ListAPIKeys(ctx, "ws_C", p)
		return mapIDs(got, keyID), total, err
	})
}

func testAPIKeyRevoke(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	k := mustKey(t, s, a.ID, "key_1", at(1))
	pre := newKey(a.ID, "key_pre", at(2))
	pre.RevokedAt = ptr(at(3))
	if err := s.CreateAPIKey(ctx, pre); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	kb := mustKey(t, s, b.ID, "key_b", at(4))

	want := k
	want.RevokedAt = ptr(at(10))
	// Later and earlier times alike leave the first revocation in place.
	for i, when := range []int{10, 20, 5} {
		got, err := s.RevokeAPIKey(ctx, a.ID, k.ID, at(when))
		if err != nil {
			t.Fatalf("RevokeAPIKey #%d: %v", i, err)
		}
		checkKey(t, fmt.Sprintf("RevokeAPIKey #%d: returned key", i), got, want)
		stored, err := s.GetAPIKey(ctx, k.ID)
		if err != nil {
			t.Fatalf("GetAPIKey: %v", err)
		}
		checkKey(t, fmt.Sprintf("RevokeAPIKey #%d: stored key", i), stored, want)
	}
	got, err := s.RevokeAPIKey(ctx, a.ID, pre.ID, at(30))
	if err != nil {
		t.Fatalf("RevokeAPIKey(revoked at creation): %v", err)
	}
	checkKey(t, "RevokeAPIKey(revoked at creation)", got, pre)

	_, foreign := s.RevokeAPIKey(ctx, a.ID, kb.ID, at(40))
	_, random := s.RevokeAPIKey(ctx, a.ID, randomID, at(40))
	checkSameError(t, "RevokeAPIKey", foreign, random, "api_key")
	stored, err := s.GetAPIKey(ctx, kb.ID)
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	checkKey(t, "key of the other workspace", stored, kb)
}

func testAPIKeyLookup(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustWorkspace(t, s, "ws_A")
	b := mustWorkspace(t, s, "ws_B")
	ka := mustKey(t, s, a.ID, "key_a", at(1))
	kb := mustKey(t, s, b.ID, "key_b", at(2))
	// Expired and revoked keys are found all the same: the caller decides.
	expired := newKey(a.ID, "key_expired", at(3))
	expired.ExpiresAt = ptr(at(-1_000_000))
	expired.RevokedAt = ptr(at(4))
	if err := s.CreateAPIKey(ctx, expired); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}

	lookup := func(what string, want store.APIKey, wantWS store.Workspace) {
		t.Helper()
		k, ws, err := s.LookupAPIKey(ctx, want.Hash)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkKey(t, what+": key", k, want)
		checkWorkspace(t, what+": workspace", ws, wantWS)
	}
	lookup("LookupAPIKey(a)", ka, a)
	lookup("LookupAPIKey(b)", kb, b)
	lookup("LookupAPIKey(expired)", expired, a)

	for _, hash := range [][]byte{hashOf("unknown"), nil} {
		_, _, err := s.LookupAPIKey(ctx, hash)
		checkNotFound(t, fmt.Sprintf("LookupAPIKey(%x)", hash), err, "api_key")
	}

	// The look-up authenticates every request, so it must see changes at once.
	if err := s.SetWorkspacePlan(ctx, a.ID, "enterprise"); err != nil {
		t.Fatalf("SetWorkspacePlan: %v", err)
	}
	a.Plan = "enterprise"
	lookup("LookupAPIKey after SetWorkspacePlan", ka, a)
	if _, err := s.RevokeAPIKey(ctx, a.ID, ka.ID, at(50)); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	ka.RevokedAt = ptr(at(50))
	lookup("LookupAPIKey after RevokeAPIKey", ka, a)
	if err := s.TouchAPIKey(ctx, ka.ID, at(60)); err != nil {
		t.Fatalf("TouchAPIKey: %v", err)
	}
	ka.LastUsedAt = ptr(at(60))
	lookup("LookupAPIKey after TouchAPIKey", ka, a)
	lookup("LookupAPIKey(b) after changes to a", kb, b)
}

func testAPIKeyTouch(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	k := mustKey(t, s, ws.ID, "key_1", at(1))
	used := newKey(ws.ID, "key_used", at(2))
	used.LastUsedAt = ptr(at(100))
	used.RevokedAt = ptr(at(150))
	if err := s.CreateAPIKey(ctx, used); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}

	steps := []struct {
		key  *store.APIKey
		at   int
		want int
	}{
		{&k, 10, 10},     // unset: set
		{&k, 20, 20},     // later: moves
		{&k, 15, 20},     // earlier: stays
		{&k, 20, 20},     // same: stays
		{&used, 50, 100}, // earlier than the stored one: stays
		{&used, 200, 200},
	}
	for i, st := range steps {
		if err := s.TouchAPIKey(ctx, st.key.ID, at(st.at)); err != nil {
			t.Fatalf("TouchAPIKey #%d: %v", i, err)
		}
		st.key.LastUsedAt = ptr(at(st.want))
		got, err := s.GetAPIKey(ctx, st.key.ID)
		if err != nil {
			t.Fatalf("GetAPIKey: %v", err)
		}
		checkKey(t, fmt.Sprintf("key after TouchAPIKey #%d", i), got, *st.key)
	}
	got, err := s.GetAPIKey(ctx, k.ID)
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	checkKey(t, "the key touched first, after touching the other", got, k)
}

func testBootstrapOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := newWorkspace("ws_boot")
	key := newKey(ws.ID, "key_boot", at(1))
	ok, err := s.Bootstrap(ctx, ws, key)
	if err != nil || !ok {
		t.Fatalf("Bootstrap on an empty store = %v, %v; want true, nil", ok, err)
	}
	k, w, err := s.LookupAPIKey(ctx, key.Hash)
	if err != nil {
		t.Fatalf("LookupAPIKey(bootstrap key): %v", err)
	}
	checkKey(t, "bootstrap key", k, key)
	checkWorkspace(t, "bootstrap workspace", w, ws)

	ws2 := newWorkspace("ws_boot2")
	key2 := newKey(ws2.ID, "key_boot2", at(2))
	ok, err = s.Bootstrap(ctx, ws2, key2)
	if err != nil || ok {
		t.Fatalf("second Bootstrap = %v, %v; want false, nil", ok, err)
	}
	checkNothingBootstrapped(t, s, ws2, key2)
	got, err := s.GetWorkspace(ctx, ws.ID)
	if err != nil {
		t.Fatalf("GetWorkspace: %v", err)
	}
	checkWorkspace(t, "first bootstrap workspace", got, ws)
}

func testBootstrapAfterCreateWorkspace(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustWorkspace(t, s, "ws_A")
	ws := newWorkspace("ws_boot")
	key := newKey(ws.ID, "key_boot", at(1))
	ok, err := s.Bootstrap(ctx, ws, key)
	if err != nil || ok {
		t.Fatalf("Bootstrap after CreateWorkspace = %v, %v; want false, nil", ok, err)
	}
	checkNothingBootstrapped(t, s, ws, key)
}

func checkNothingBootstrapped(t *testing.T, s store.Store, ws store.Workspace, key store.APIKey) {
	t.Helper()
	ctx := t.Context()
	_, err := s.GetWorkspace(ctx, ws.ID)
	checkNotFound(t, "GetWorkspace(workspace of a refused bootstrap)", err, "workspace")
	_, err = s.GetAPIKey(ctx, key.ID)
	checkNotFound(t, "GetAPIKey(key of a refused bootstrap)", err, "api_key")
	_, _, err = s.LookupAPIKey(ctx, key.Hash)
	checkNotFound(t, "LookupAPIKey(key of a refused bootstrap)", err, "api_key")
}
