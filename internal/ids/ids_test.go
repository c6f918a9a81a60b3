package ids

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, prefix := range []string{Workspace, Project, Task, APIKey} {
		if id := New(prefix); !Valid(prefix, id) {
			t.Errorf("Valid(%q, New(%q) = %q) = false", prefix, prefix, id)
		}
	}
	long := strings.Repeat("a", MaxRandomLength)
	for _, c := range []struct {
		id   string
		want bool
	}{
		{"proj_" + strings.Repeat("A", MinRandomLength), true},
		{"proj_" + long, true},
		{"proj_" + long + "a", false},
		{"proj_" + strings.Repeat("A", MinRandomLength-1), false},
		{"task_AAAAAAAAAAAAAAAAAAAA", false}, // another resource's prefix
		{"AAAAAAAAAAAAAAAAAAAA", false},
		{"proj_AAAAAAAAAAAAAAAAAAA\x00", false},
		{"proj_AAAAAAAAAAAAAAAAAAA\xff", false},
		{"proj_AAAAAAAAAAAAAAAAAAA-", false},
		{"proj_AAAAAAAAAAAAAAAAAAAé", false},
		{"", false},
	} {
		if got := Valid(Project, c.id); got != c.want {
			t.Errorf("Valid(%q, %q) = %v, want %v", Project, c.id, got, c.want)
		}
	}
}
