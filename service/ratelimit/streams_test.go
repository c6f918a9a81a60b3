package ratelimit_test

import (
	"errors"
	"testing"

	"github.com/example/workspace/service/ratelimit"
)

func TestStreamsBoundPerWorkspace(t *testing.T) {
	s := ratelimit.NewStreams()
	var releases []func()
	for i := 0; i < ratelimit.Free.Streams; i++ {
		r, err := s.Open("ws_a", ratelimit.Free)
		if err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
		releases = append(releases, r)
	}
	if _, err := s.Open("ws_a", ratelimit.Free); !errors.Is(err, ratelimit.ErrTooManyStreams) {
		t.Fatalf("stream %d: %v, want ErrTooManyStreams", ratelimit.Free.Streams+1, err)
	}
	if _, err := s.Open("ws_b", ratelimit.Free); err != nil {
		t.Fatalf("another workspace: %v", err)
	}
	releases[0]()
	releases[0]() // idempotent: frees one place, not two
	if _, err := s.Open("ws_a", ratelimit.Free); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := s.Open("ws_a", ratelimit.Free); !errors.Is(err, ratelimit.ErrTooManyStreams) {
		t.Fatalf("a second release freed a second place: %v", err)
	}
	if got := s.Count("ws_a"); got != ratelimit.Free.Streams {
		t.Errorf("Count = %d", got)
	}
	if ratelimit.Pro.Streams != 50 || ratelimit.Enterprise.Streams != 1000 {
		t.Errorf("plans' streams: %d, %d", ratelimit.Pro.Streams, ratelimit.Enterprise.Streams)
	}
}
