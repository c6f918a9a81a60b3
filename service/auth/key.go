// Package auth owns API keys: their format and checksum, hashing, scopes, the
// authenticator, and the interceptor that authorizes calls by scope.
package auth

import (
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"strings"

	"github.com/example/workspace/internal/ids"
)

// A key is KeyPrefix, secretLength random base62 characters, and a checksum of
// those in checksumLength base62 characters. The checksum lets malformed or
// mistyped keys be refused without a store look-up, and the fixed shape lets
// secret scanners find leaked keys by pattern.
const (
	KeyPrefix      = "wsk_"
	secretLength   = 32
	checksumLength = 6
	// KeyLength is the length of every well-formed key.
	KeyLength = len(KeyPrefix) + secretLength + checksumLength
	// displayLength is how much of a key is kept, in clear, for display.
	displayLength = len(KeyPrefix) + 8
)

// ErrMalformed reports a string that cannot be a key.
var ErrMalformed = errors.New("malformed API key")

// NewKey returns a fresh key, the part of it shown for recognition, and the
// hash that is stored.
func NewKey() (secret, prefix string, hash []byte) {
	random := ids.Random(secretLength)
	secret = KeyPrefix + random + checksum(random)
	return secret, secret[:displayLength], Hash(secret)
}

// CheckFormat reports ErrMalformed unless s has the shape and checksum of a key.
func CheckFormat(s string) error {
	if len(s) != KeyLength || !strings.HasPrefix(s, KeyPrefix) {
		return ErrMalformed
	}
	body := s[len(KeyPrefix):]
	if !ids.IsBase62(body) {
		return ErrMalformed
	}
	random, sum := body[:secretLength], body[secretLength:]
	if checksum(random) != sum {
		return ErrMalformed
	}
	return nil
}

// Hash is what the store keeps of a key: its SHA-256.
func Hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// checksum is the CRC-32 of the random part in fixed-width base62 (62^6 > 2^32).
func checksum(random string) string {
	n := crc32.ChecksumIEEE([]byte(random))
	var out [checksumLength]byte
	for i := checksumLength - 1; i >= 0; i-- {
		out[i] = ids.Alphabet[n%62]
		n /= 62
	}
	return string(out[:])
}
