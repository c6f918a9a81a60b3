package etag

import "testing"

func TestOf(t *testing.T) {
	if got := Of(3); got != `"3"` {
		t.Errorf(`Of(3) = %s, want "3"`, got)
	}
}

// TestConditions holds Parse and the two comparisons to RFC 9110 §13.1.1 and
// §13.1.2 (and the table of §8.8.3.2: W/"1" and "1" match weakly only).
func TestConditions(t *testing.T) {
	current := Of(3)
	tests := []struct {
		values       []string
		ok           bool
		strong, weak bool
	}{
		{[]string{`"3"`}, true, true, true},
		{[]string{`"2"`}, true, false, false},
		{[]string{`W/"3"`}, true, false, true},
		{[]string{`*`}, true, true, true},
		{[]string{` * `}, true, true, true},
		{[]string{`"1", "3"`}, true, true, true},
		{[]string{`"1",W/"3"`}, true, false, true},
		{[]string{`"1"`, `"3"`}, true, true, true}, // two header lines
		{[]string{`, "3" ,,`}, true, true, true},
		{[]string{`"33"`}, true, false, false},
		{[]string{`""`}, true, false, false},
		{[]string{`3`}, false, false, false},
		{[]string{`"3`}, false, false, false},
		{[]string{`"3" "4"`}, false, false, false},
		{[]string{`w/"3"`}, false, false, false},
		{[]string{`"3 4"`}, false, false, false},
		{[]string{``}, false, false, false},
		{nil, false, false, false},
	}
	for _, tc := range tests {
		c, ok := Parse(tc.values...)
		if ok != tc.ok {
			t.Errorf("Parse(%q) ok = %v, want %v", tc.values, ok, tc.ok)
			continue
		}
		if got := c.MatchStrong(current); got != tc.strong {
			t.Errorf("Parse(%q).MatchStrong(%s) = %v, want %v", tc.values, current, got, tc.strong)
		}
		if got := c.MatchWeak(current); got != tc.weak {
			t.Errorf("Parse(%q).MatchWeak(%s) = %v, want %v", tc.values, current, got, tc.weak)
		}
	}
}
