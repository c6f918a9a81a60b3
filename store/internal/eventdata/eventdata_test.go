package eventdata

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	due := at.Add(time.Hour)
	trunc := func(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }
	tdue := trunc(due)
	cur := store.Task{ID: "task_1", WorkspaceID: "ws_1", ProjectID: "proj_1", Title: "old", Status: "todo",
		CreatedAt: at, UpdatedAt: at, Version: 1}
	next := cur
	next.Title, next.DueAt, next.Version = "new", &due, 2
	d, p, err := Encode(store.Resource{Task: &next}, &store.Resource{Task: &cur})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(p), "workspace_id") || !strings.Contains(string(p), `"due_at":null`) {
		t.Errorf("previous = %s, want only the changed fields", p)
	}
	data, prev, err := Decode(d, p)
	if err != nil {
		t.Fatal(err)
	}
	wantNext := next
	wantNext.CreatedAt, wantNext.UpdatedAt, wantNext.DueAt = trunc(at), trunc(at), &tdue
	wantCur := cur
	wantCur.CreatedAt, wantCur.UpdatedAt = trunc(at), trunc(at)
	if !reflect.DeepEqual(*data.Task, wantNext) {
		t.Errorf("data = %+v, want %+v", *data.Task, wantNext)
	}
	if prev == nil || !reflect.DeepEqual(*prev.Task, wantCur) {
		t.Errorf("previous = %+v, want %+v", prev, wantCur)
	}
}

// TestRoundTripLong: records larger than Encode's first buffer, whose
// values, Data and Previous outgrow it one after the other.
func TestRoundTripLong(t *testing.T) {
	at := time.Unix(1, 0).UTC()
	cur := store.Task{ID: "task_1", WorkspaceID: "ws_1", ProjectID: "proj_1", Title: "t", Status: "todo",
		Description: strings.Repeat("é<", 400), CreatedAt: at, UpdatedAt: at, Version: 1}
	next := cur
	next.Description, next.Version = strings.Repeat("x", 700), 2
	d, p, err := Encode(store.Resource{Task: &next}, &store.Resource{Task: &cur})
	if err != nil {
		t.Fatal(err)
	}
	data, prev, err := Decode(d, p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*data.Task, next) || prev == nil || !reflect.DeepEqual(*prev.Task, cur) {
		t.Errorf("round trip: data %+v, previous %+v; want %+v, %+v", data.Task, prev, next, cur)
	}
}

func TestKeyHashNeverStored(t *testing.T) {
	k := store.APIKey{ID: "key_1", WorkspaceID: "ws_1", Name: "k", Scopes: []string{"read"}, Prefix: "wk_abc",
		Hash: []byte("secret-hash-bytes"), CreatedAt: time.Unix(1, 0)}
	d, _, err := Encode(store.Resource{APIKey: &k}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(d), "hash") || strings.Contains(string(d), "c2VjcmV0") {
		t.Errorf("data %s holds the hash", d)
	}
	got, prev, err := Decode(d, nil)
	if err != nil || prev != nil || got.APIKey.Hash != nil || got.APIKey.Name != "k" {
		t.Errorf("Decode = %+v, %v, %v", got.APIKey, prev, err)
	}
}

func TestOneRecord(t *testing.T) {
	if _, _, err := Encode(store.Resource{}, nil); err == nil {
		t.Error("Encode of an empty resource: no error")
	}
	if _, _, err := Encode(store.Resource{Project: &store.Project{}}, &store.Resource{Task: &store.Task{}}); err == nil {
		t.Error("Encode of a previous of another kind: no error")
	}
}

// TestEncodeIsJSON: the hand-written bytes are what encoding/json reads
// back, whatever the strings hold.
func TestEncodeIsJSON(t *testing.T) {
	odd := "quote \" backslash \\ nul \x00 tab \t html <&> ünï ✓ \xff"
	p := store.Project{ID: "proj_1", WorkspaceID: "ws_1", Name: odd, Description: "", CreatedAt: time.Unix(0, 1000), UpdatedAt: time.Unix(-5, 0), Version: 3}
	d, _, err := Encode(store.Resource{Project: &p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := Decode(d, nil)
	if err != nil {
		t.Fatalf("Decode(%s): %v", d, err)
	}
	want := strings.ToValidUTF8(odd, "\uFFFD")
	if got.Project.Name != want || !got.Project.CreatedAt.Equal(p.CreatedAt) || !got.Project.UpdatedAt.Equal(p.UpdatedAt) || got.Project.Version != 3 {
		t.Errorf("round trip of %s: %+v", d, got.Project)
	}
	k := store.APIKey{ID: "key_1", Scopes: nil, CreatedAt: time.Unix(1, 0)}
	d, _, err = Encode(store.Resource{APIKey: &k}, nil)
	if err != nil || !strings.Contains(string(d), `"scopes":[]`) {
		t.Errorf("a key without scopes: %s, %v", d, err)
	}
}
