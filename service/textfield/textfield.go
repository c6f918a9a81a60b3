// Package textfield holds the rules every text field of the API follows
// (CONTRACT §3), for the handlers and the admin operations alike.
package textfield

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/example/workspace/apierror"
)

// Required trims s and checks it is 1..max characters long, without a NUL
// (see Optional).
func Required(field, label, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", apierror.Validation(field, label+" is required")
	}
	if err := Optional(field, label, s, max); err != nil {
		return "", err
	}
	return s, nil
}

// Optional checks that s is at most max characters long and holds no NUL
// (U+0000). Every text field of every resource goes through it or Required.
// A NUL is refused because PostgreSQL's text cannot hold it (a 500 there,
// stored by SQLite): one answer for both backends. Every other character —
// tabs, newlines, the other control characters — is stored and given back as
// sent, on both.
func Optional(field, label, s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return apierror.Validation(field, label+" must be at most "+strconv.Itoa(max)+" characters")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return apierror.Validation(field, label+" must not contain the NUL character (U+0000)")
	}
	return nil
}
