// Package cursor encodes a list page's keyset position as the opaque token of
// pagination.next_cursor (gRPC next_page_token), bound to the list, filters
// and order it was issued for and integrity-checked, and decodes it back.
package cursor

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/example/workspace/store"
)

// Errors of Decode; both mean the token cannot be used, and the API answers
// each with a 400 naming the cursor.
var (
	// ErrInvalid: not a token this package wrote (garbled, truncated, edited).
	ErrInvalid = errors.New("cursor: not a valid cursor")
	// ErrMismatch: a valid token of another list, workspace, filter or order.
	ErrMismatch = errors.New("cursor: issued for other filters or another order")
)

const (
	version   = 1
	bindLen   = 8
	macLen    = 12
	flagKey   = 1 << 0
	maxIDLen  = 256
	macDomain = "workspace.v1 cursor\x00"
)

// Binding identifies what a cursor may continue: a hash of the normalised
// list, workspace, filters and order, each part given as a string.
type Binding [bindLen]byte

// Bind hashes parts, unambiguously (each is length-prefixed).
func Bind(parts ...string) Binding {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	var b Binding
	copy(b[:], h.Sum(nil))
	return b
}

// Encode returns the token of pos for b: base64url of
// version | binding | flags | key (unix µs, zigzag varint, if any) | id | check,
// where check is a truncated SHA-256 of all before it. The check is integrity,
// not a secret: a cursor carries no authority (the list is the caller's own
// workspace's, whatever the position says), so a hand-made one could at most
// skip rows the caller may read anyway; what it stops is a garbled or edited
// token being taken at its word.
func Encode(b Binding, pos store.Position) string {
	buf := make([]byte, 0, 1+bindLen+1+binary.MaxVarintLen64+len(pos.ID)+macLen)
	buf = append(buf, version)
	buf = append(buf, b[:]...)
	if pos.Key != nil {
		buf = append(buf, flagKey)
		buf = binary.AppendVarint(buf, pos.Key.UnixMicro())
	} else {
		buf = append(buf, 0)
	}
	buf = append(buf, pos.ID...)
	buf = append(buf, check(buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Decode returns the position of token, which must have been issued for b.
func Decode(token string, b Binding) (store.Position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 1+bindLen+1+1+macLen || raw[0] != version {
		return store.Position{}, ErrInvalid
	}
	body, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !bytes.Equal(check(body), mac) {
		return store.Position{}, ErrInvalid
	}
	if !bytes.Equal(body[1:1+bindLen], b[:]) {
		return store.Position{}, ErrMismatch
	}
	rest := body[1+bindLen:]
	flags, rest := rest[0], rest[1:]
	var pos store.Position
	switch flags {
	case 0:
	case flagKey:
		us, n := binary.Varint(rest)
		if n <= 0 {
			return store.Position{}, ErrInvalid
		}
		k := time.UnixMicro(us).UTC()
		pos.Key, rest = &k, rest[n:]
	default:
		return store.Position{}, ErrInvalid
	}
	if len(rest) == 0 || len(rest) > maxIDLen {
		return store.Position{}, ErrInvalid
	}
	pos.ID = string(rest)
	return pos, nil
}

func check(body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(macDomain))
	h.Write(body)
	return h.Sum(nil)[:macLen]
}
