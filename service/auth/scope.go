package auth

import "slices"

// The scopes of CONTRACT §7.
const (
	ScopeRead   = "read"
	ScopeWrite  = "write"
	ScopeDelete = "delete"
	ScopeAdmin  = "admin"
)

// Scopes lists every scope, in the order the API prints them.
var Scopes = []string{ScopeRead, ScopeWrite, ScopeDelete, ScopeAdmin}

// ValidScope reports whether s is a scope.
func ValidScope(s string) bool { return slices.Contains(Scopes, s) }

// Allows reports whether a key with scopes may do what need requires; admin
// implies every other scope.
func Allows(scopes []string, need string) bool {
	for _, s := range scopes {
		if s == need || s == ScopeAdmin {
			return true
		}
	}
	return false
}
