package idempotency

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestStoredSeq: a stored response keeps its X-Event-Seq after the Any, and
// a record written before it (a bare Any) still reads, with none.
func TestStoredSeq(t *testing.T) {
	a, err := anypb.New(wrapperspb.String("resp"))
	if err != nil {
		t.Fatal(err)
	}
	bare, err := proto.MarshalOptions{Deterministic: true}.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want int64
	}{
		{"old record", bare, 0},
		{"with seq", appendSeq(bare, 1<<40+7), 1<<40 + 7},
	} {
		var got anypb.Any
		if err := proto.Unmarshal(c.b, &got); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		msg, err := got.UnmarshalNew()
		if err != nil || msg.(*wrapperspb.StringValue).GetValue() != "resp" {
			t.Errorf("%s: response %v, %v", c.name, msg, err)
		}
		if s := storedSeq(&got); s != c.want {
			t.Errorf("%s: seq %d, want %d", c.name, s, c.want)
		}
	}
}
