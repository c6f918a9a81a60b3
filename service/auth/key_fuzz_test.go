package auth_test

import (
	"strings"
	"testing"

	"github.com/example/workspace/service/auth"
)

// FuzzCheckFormat: the key parser never panics, accepts only strings of the
// key's exact shape, and accepts every key NewKey makes.
func FuzzCheckFormat(f *testing.F) {
	good, _, _ := auth.NewKey()
	if err := auth.CheckFormat(good); err != nil {
		f.Fatalf("NewKey made %q, which CheckFormat refuses: %v", good, err)
	}
	for _, s := range []string{
		good, good[:len(good)-1], good + "x", strings.ToUpper(good), "", "wsk_", "Bearer " + good,
		"wsk_" + strings.Repeat("0", 38), "wsk_" + strings.Repeat("é", 19), good[:10] + "\x00" + good[11:],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := auth.CheckFormat(s)
		if err == nil {
			if len(s) != auth.KeyLength || !strings.HasPrefix(s, auth.KeyPrefix) {
				t.Fatalf("accepted %q, which does not have the key's shape", s)
			}
			for _, c := range s[len(auth.KeyPrefix):] {
				if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
					t.Fatalf("accepted %q with a non-base62 character %q", s, c)
				}
			}
			if len(auth.Hash(s)) != 32 {
				t.Fatalf("hash of %q is not a SHA-256", s)
			}
			// One changed character in the random part is caught by the
			// checksum (CRC-32 detects every single-symbol error).
			b := []byte(s)
			i := len(auth.KeyPrefix)
			if b[i] == 'a' {
				b[i] = 'b'
			} else {
				b[i] = 'a'
			}
			if auth.CheckFormat(string(b)) == nil {
				t.Fatalf("accepted both %q and %q", s, b)
			}
		}
	})
}
