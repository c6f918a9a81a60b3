// Package ids makes the API's identifiers: a type prefix and random base62
// characters from crypto/rand.
package ids

import (
	"crypto/rand"
	"strings"
)

// Alphabet is base62 in ASCII order.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomLength is the number of random characters in an id: 20 base62
// characters carry 119 bits, beyond guessing or colliding.
const RandomLength = 20

// The prefixes of CONTRACT §2.
const (
	Workspace = "ws_"
	Project   = "proj_"
	Task      = "task_"
	APIKey    = "key_"
	// Event, WebhookEndpoint and WebhookDelivery are issue 13's and 14's.
	Event           = "evt_"
	WebhookEndpoint = "whe_"
	WebhookDelivery = "whd_"
)

// MinRandomLength and MaxRandomLength bound the random part of an id that
// Valid accepts: the contract promises at least 16 characters, New makes
// RandomLength, and 64 leaves room for a longer RandomLength while keeping
// an oversized path segment from reaching a store.
const (
	MinRandomLength = 16
	MaxRandomLength = 64
)

// Valid reports whether s could be an id that New made with prefix: the
// prefix, then MinRandomLength to MaxRandomLength base62 characters. An id
// that is not valid names nothing, whatever a store holds.
func Valid(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	return ok && len(rest) >= MinRandomLength && len(rest) <= MaxRandomLength && IsBase62(rest)
}

// New returns prefix followed by RandomLength random base62 characters.
func New(prefix string) string {
	b := make([]byte, len(prefix)+RandomLength)
	copy(b, prefix)
	fill(b[len(prefix):])
	return string(b)
}

// Random returns n random base62 characters.
func Random(n int) string {
	b := make([]byte, n)
	fill(b)
	return string(b)
}

// fill draws uniformly from the alphabet: bytes of 248 and above are dropped
// because 248 is the largest multiple of 62 that fits in a byte, so keeping
// them would favour the first characters.
func fill(dst []byte) {
	var buf [64]byte
	i := 0
	for i < len(dst) {
		// crypto/rand.Read never fails on supported platforms (Go 1.24+).
		_, _ = rand.Read(buf[:])
		for _, c := range buf {
			if c >= 248 {
				continue
			}
			dst[i] = Alphabet[c%62]
			i++
			if i == len(dst) {
				return
			}
		}
	}
}

// IsBase62 reports whether s is made of base62 characters only.
func IsBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
