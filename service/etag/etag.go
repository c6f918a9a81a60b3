// Package etag is the entity-tags of projects and tasks (RFC 9110 §8.8.3): how
// a record's version is spelled, and how If-Match and If-None-Match compare
// with it.
//
// The tag is strong, "<version>": every representation of one version is
// byte-identical (the same fields, the same JSON), and If-Match, which guards
// writes, needs strong comparison (RFC 9110 §13.1.1). It is opaque to
// clients: they copy it, quotes included (AIP-154), and never compute it.
package etag

import (
	"strconv"
	"strings"
)

// Of is the entity-tag of a version, quotes included: `"3"`.
func Of(version int64) string {
	return `"` + strconv.FormatInt(version, 10) + `"`
}

// Condition is a parsed If-Match or If-None-Match value: `*`, or a list of
// entity-tags.
type Condition struct {
	any  bool
	tags []tag
}

type tag struct {
	weak   bool
	opaque string // between the quotes
}

// Parse reads a header's values (or the etag field of a request, which takes
// what If-Match takes). Each value is `*` or a comma-separated list of
// entity-tags, `"…"` or `W/"…"`; empty list elements are allowed, as RFC 9110
// §5.6.1 asks of recipients. ok is false for anything else, such as an
// unquoted 3.
func Parse(values ...string) (c Condition, ok bool) {
	for _, v := range values {
		if strings.TrimSpace(v) == "*" {
			c.any = true
			continue
		}
		rest := v
		for {
			rest = strings.TrimLeft(rest, " \t")
			if rest == "" {
				break
			}
			if rest[0] == ',' {
				rest = rest[1:]
				continue
			}
			var t tag
			if strings.HasPrefix(rest, "W/") {
				t.weak, rest = true, rest[2:]
			}
			if !strings.HasPrefix(rest, `"`) {
				return Condition{}, false
			}
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return Condition{}, false
			}
			t.opaque, rest = rest[1:1+end], rest[2+end:]
			if !validOpaque(t.opaque) {
				return Condition{}, false
			}
			c.tags = append(c.tags, t)
			rest = strings.TrimLeft(rest, " \t")
			if rest != "" && rest[0] != ',' {
				return Condition{}, false
			}
		}
	}
	return c, c.any || len(c.tags) > 0
}

// validOpaque is RFC 9110's etagc without obs-text: %x21 / %x23-7E (the
// quote is excluded by the caller's search). No tag this API makes has
// obs-text, and gRPC metadata, which carries If-Match to the service, takes
// printable ASCII only.
func validOpaque(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x21 || b > 0x7e {
			return false
		}
	}
	return true
}

// MatchStrong is If-Match's test (RFC 9110 §13.1.1) against current, a tag
// Of made: `*` matches any current tag, otherwise a listed strong tag must
// equal it; a weak tag never matches.
func (c Condition) MatchStrong(current string) bool {
	return c.match(current, false)
}

// MatchWeak is If-None-Match's test (RFC 9110 §13.1.2) against current: `*`
// matches any current tag, otherwise a listed tag must equal it, W/ or not.
func (c Condition) MatchWeak(current string) bool {
	return c.match(current, true)
}

func (c Condition) match(current string, weakOK bool) bool {
	if c.any {
		return true
	}
	want := strings.TrimSuffix(strings.TrimPrefix(current, `"`), `"`)
	for _, t := range c.tags {
		if t.opaque == want && (weakOK || !t.weak) {
			return true
		}
	}
	return false
}
