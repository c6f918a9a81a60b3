// Package pgtest gives each test its own empty PostgreSQL database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable with the URL of a server, and a
// database on it, where the test databases are created.
const EnvURL = "WORKSPACE_TEST_POSTGRES_URL"

// NewDatabase creates a database with a random name on the server of
// $WORKSPACE_TEST_POSTGRES_URL and returns its URL; it is dropped when the test
// ends, even if connections to it are still open. Without the variable, the
// test is skipped. The role of the URL needs CREATEDB.
func NewDatabase(t testing.TB) (url string) {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		t.Skip("set " + EnvURL + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run the PostgreSQL tests")
	}
	u, err := parseURL(admin)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}

	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	name := "ws_test_" + hex.EncodeToString(b[:])

	// The name is generated above from hex digits only, so it needs no
	// quoting beyond the identifier quotes.
	exec(t, admin, `CREATE DATABASE "`+name+`"`)
	t.Cleanup(func() {
		// FORCE ends the sessions a failed test left open, which would
		// otherwise make DROP fail and leak the database.
		exec(t, admin, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
	})

	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("want a postgres:// URL, got scheme %q", u.Scheme)
	}
	return u, nil
}

// exec runs one statement on its own short-lived connection: CREATE and DROP
// DATABASE cannot run inside a transaction, and a held connection to the
// maintenance database would be one more for the server to track.
func exec(t testing.TB, connURL, sql string) {
	t.Helper()
	// Not t.Context(): it is already cancelled when Cleanup functions run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}
