package cursor_test

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/example/workspace/service/cursor"
	"github.com/example/workspace/store"
)

func TestRoundTrip(t *testing.T) {
	b := cursor.Bind("tasks", "ws_1", "due_at asc")
	k := time.Date(2026, 12, 1, 8, 0, 0, 123456000, time.UTC)
	for _, pos := range []store.Position{{Key: &k, ID: "task_abc"}, {ID: "task_nodue"}, {Key: ptr(time.Unix(-5, 0).UTC()), ID: "x"}} {
		got, err := cursor.Decode(cursor.Encode(b, pos), b)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", pos, err)
		}
		if got.ID != pos.ID || (got.Key == nil) != (pos.Key == nil) || got.Key != nil && !got.Key.Equal(*pos.Key) {
			t.Errorf("Decode(Encode(%+v)) = %+v", pos, got)
		}
	}
}

func ptr(t time.Time) *time.Time { return &t }

func TestRefusals(t *testing.T) {
	b := cursor.Bind("tasks", "ws_1", "created_at desc")
	k := time.Unix(1700000000, 0).UTC()
	tok := cursor.Encode(b, store.Position{Key: &k, ID: "task_abc"})
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	edited := append([]byte(nil), raw...)
	edited[len(edited)-13] ^= 1 // the last byte of the id
	cases := map[string]struct {
		token string
		b     cursor.Binding
		want  error
	}{
		"other filters":  {tok, cursor.Bind("tasks", "ws_1", "created_at asc"), cursor.ErrMismatch},
		"other list":     {tok, cursor.Bind("projects", "ws_1", "created_at desc"), cursor.ErrMismatch},
		"garbled":        {tok[:len(tok)-3] + "!!!", b, cursor.ErrInvalid},
		"truncated":      {tok[:10], b, cursor.ErrInvalid},
		"edited":         {base64.RawURLEncoding.EncodeToString(edited), b, cursor.ErrInvalid},
		"empty":          {"", b, cursor.ErrInvalid},
		"not base64":     {"a b", b, cursor.ErrInvalid},
		"another offset": {"MTAw", b, cursor.ErrInvalid},
	}
	for name, c := range cases {
		if _, err := cursor.Decode(c.token, c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: Decode = %v, want %v", name, err, c.want)
		}
	}
	if cursor.Bind("a", "bc") == cursor.Bind("ab", "c") {
		t.Error("Bind is ambiguous")
	}
}
