package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestHelpExitsZero: -h and --help print the help of every command and
// subcommand to stdout and succeed (serve does not start).
func TestHelpExitsZero(t *testing.T) {
	commands := [][]string{
		{}, {"serve"}, {"migrate"}, {"version"},
		{"workspaces"}, {"workspaces", "create"}, {"workspaces", "set-plan"},
		{"keys"}, {"keys", "create"}, {"keys", "revoke"},
	}
	for _, cmd := range commands {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string(nil), cmd...), h)
			out, errOut, code := cli(t, nil, args...)
			if code != 0 || !strings.Contains(out, "Usage") || errOut != "" {
				t.Errorf("workspaced %s: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout only", strings.Join(args, " "), code, out, errOut)
			}
		}
	}

	// serve's help shows the defaults the README documents, from the server.
	out, _, _ := cli(t, nil, "serve", "--help")
	for _, want := range []string{
		`--http-addr (env WORKSPACE_HTTP_ADDR, default ":8080")`,
		`--grpc-addr (env WORKSPACE_GRPC_ADDR, default ":9090")`,
		`--admin-addr (env WORKSPACE_ADMIN_ADDR, default "127.0.0.1:9091")`,
		`--database (env WORKSPACE_DATABASE, default "workspace.db")`,
		`--redis (env WORKSPACE_REDIS_URL, default "")`,
		`--log-format (env WORKSPACE_LOG_FORMAT, default "text")`,
		`--shutdown-timeout (env WORKSPACE_SHUTDOWN_TIMEOUT, default "15s")`,
		`--drain-delay (env WORKSPACE_DRAIN_DELAY, default "0s")`,
		`--cors-origins (env WORKSPACE_CORS_ORIGINS, default "")`,
		`--event-retention (env WORKSPACE_EVENT_RETENTION, default "720h0m0s")`,
		`--webhook-allow-private (env WORKSPACE_WEBHOOK_ALLOW_PRIVATE, default "false")`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out)
		}
	}

	// A mistake still exits 2, with the usage on stderr.
	if out, errOut, code := cli(t, nil, "keys", "create", "--frobnicate"); code != 2 || out != "" || !strings.Contains(errOut, "Usage of workspaced keys create") {
		t.Errorf("keys create --frobnicate: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", code, out, errOut)
	}
}

// TestEventRetentionIsChecked: a retention under an hour, or one that is no
// duration, stops serve before it opens anything, naming the setting.
func TestEventRetentionIsChecked(t *testing.T) {
	db := t.TempDir() + "/retention.db"
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--event-retention", "59m"}, "--event-retention (WORKSPACE_EVENT_RETENTION) is 59m0s: it must be at least 1h0m0s"},
		{nil, []string{"--event-retention", "0"}, "it must be at least 1h0m0s"},
		{nil, []string{"--event-retention", "a month"}, "event-retention"},
		{[]string{"WORKSPACE_EVENT_RETENTION=-1h"}, nil, "is -1h0m0s: it must be at least"},
		{[]string{"WORKSPACE_EVENT_RETENTION=forever"}, nil, "WORKSPACE_EVENT_RETENTION"},
	} {
		args := append([]string{"serve", "--database", db, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", ""}, c.args...)
		if _, errOut, code := cli(t, c.env, args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("serve %v with env %v: exit %d, stderr %q; want 2 and %q", c.args, c.env, code, errOut, c.want)
		}
	}
}

func TestScopesErrorNamesTheUnknownScope(t *testing.T) {
	db := t.TempDir() + "/scopes.db"
	_, errOut, code := cli(t, nil, "keys", "create", "--workspace", "ws_x", "--scopes", "read,bogus", "--database", db)
	if code != 2 || !strings.Contains(errOut, `"bogus"`) {
		t.Errorf("keys create --scopes read,bogus: exit %d, stderr %q; want 2 and an error naming \"bogus\"", code, errOut)
	}
	if _, errOut, code = cli(t, nil, "keys", "create", "--workspace", "ws_x", "--scopes", " , ", "--database", db); code != 2 || !strings.Contains(errOut, "--scopes must list one or more") {
		t.Errorf("keys create --scopes ' , ': exit %d, stderr %q", code, errOut)
	}
}

// TestOnlyServerSettingsHaveEnvironmentTwins: a WORKSPACE_NAME, _PLAN,
// _WORKSPACE, _SCOPES … left in the environment changes nothing; the server's
// settings (WORKSPACE_DATABASE here) still apply to every command.
func TestOnlyServerSettingsHaveEnvironmentTwins(t *testing.T) {
	db := t.TempDir() + "/env.db"
	env := []string{
		"WORKSPACE_DATABASE=" + db,
		"WORKSPACE_NAME=From the environment", "WORKSPACE_PLAN=enterprise",
		"WORKSPACE_WORKSPACE=ws_fromenv", "WORKSPACE_SCOPES=admin", "WORKSPACE_EXPIRES_IN=1h",
	}
	if _, errOut, code := cli(t, env, "workspaces", "create"); code != 2 || !strings.Contains(errOut, "--name is required") {
		t.Errorf("workspaces create with WORKSPACE_NAME set and no --name: exit %d %q; want 2, --name is required", code, errOut)
	}
	out, errOut, code := cli(t, env, "workspaces", "create", "--name", "Acme")
	lines := strings.Fields(out)
	if code != 0 || len(lines) != 2 || !strings.Contains(errOut, `"Acme" on the free plan`) {
		t.Fatalf("workspaces create --name Acme with WORKSPACE_PLAN=enterprise: exit %d %q %q; want the free plan", code, out, errOut)
	}
	ws := lines[0]
	if _, errOut, code := cli(t, env, "keys", "create", "--scopes", "read"); code != 2 || !strings.Contains(errOut, "--workspace is required") {
		t.Errorf("keys create with WORKSPACE_WORKSPACE set and no --workspace: exit %d %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "keys", "create", "--workspace", ws); code != 2 || !strings.Contains(errOut, "--scopes must list") {
		t.Errorf("keys create with WORKSPACE_SCOPES set and no --scopes: exit %d %q", code, errOut)
	}
	// The key made in the database that WORKSPACE_DATABASE names, without
	// the expiry of WORKSPACE_EXPIRES_IN.
	out, errOut, code = cli(t, env, "keys", "create", "--workspace", ws, "--scopes", "read")
	if code != 0 || !keyLine.MatchString(strings.TrimSpace(out)) {
		t.Fatalf("keys create: exit %d %q %q", code, out, errOut)
	}
	keyID := regexp.MustCompile(`key_[0-9A-Za-z]+`).FindString(errOut)
	out, _, code = cli(t, env, "keys", "revoke", keyID)
	// What a running server does: it trusts a key it looked up for a second.
	if code != 0 || !strings.Contains(out, "Key "+keyID+" is revoked") || !strings.Contains(out, "within 1s") || strings.Contains(out, "next request") {
		t.Errorf("keys revoke: exit %d %q; want it to say running servers refuse the key within 1s", code, out)
	}

	for _, cmd := range [][]string{{"workspaces", "create"}, {"keys", "create"}} {
		out, _, _ := cli(t, nil, append(cmd, "--help")...)
		for _, flag := range []string{"name", "plan", "workspace", "scopes", "expires-in"} {
			if regexp.MustCompile(`--` + flag + ` \(env `).MatchString(out) {
				t.Errorf("%s --help gives --%s an environment twin:\n%s", strings.Join(cmd, " "), flag, out)
			}
		}
	}
	// Help does not depend on the environment.
	if _, errOut, code := cli(t, []string{"WORKSPACE_SHUTDOWN_TIMEOUT=soon"}, "serve", "--help"); code != 0 {
		t.Errorf("serve --help with a bad WORKSPACE_SHUTDOWN_TIMEOUT: exit %d %q", code, errOut)
	}
	// A bad twin of a flag given on the command line does not matter: the
	// flag wins.
	if _, errOut, code := cli(t, []string{"WORKSPACE_DATABASE=/nonexistent/dir/x.db"}, "migrate", "--database", t.TempDir()+"/ok.db"); code != 0 {
		t.Errorf("migrate --database with another WORKSPACE_DATABASE: exit %d %q; want the flag to win", code, errOut)
	}
}
