package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/internal/logwriter"
	"github.com/example/workspace/server"
	"github.com/example/workspace/service/admin"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/store"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve")
	// The flags fill the server's Config; their defaults are the server's.
	var cfg server.Config
	fs.StringVar(&cfg.HTTPAddr, "http-addr", server.DefaultHTTPAddr, "REST listen address")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", server.DefaultGRPCAddr, "gRPC listen address")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", server.DefaultAdminAddr, "admin listen address: /metrics, /healthz, /readyz, /debug/pprof/; empty turns it off")
	databaseVar(fs, &cfg.Database)
	fs.StringVar(&cfg.RedisURL, "redis", "", "redis:// URL shared by every replica for rate limits; empty keeps them in memory")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "how long in-flight requests may take to finish on shutdown")
	fs.DurationVar(&cfg.DrainDelay, "drain-delay", 0, "on shutdown, how long to keep serving after health reports NOT_SERVING, so that load balancers stop routing first")
	fs.DurationVar(&cfg.EventRetention, "event-retention", server.DefaultEventRetention, "how long events are kept (at least "+server.MinEventRetention.String()+"); reading the log after a pruned position is 410 EVENTS_EXPIRED")
	fs.BoolVar(&cfg.WebhookAllowPrivate, "webhook-allow-private", false, "let webhook endpoints use http and reach loopback, private, link-local and metadata addresses (development and tests only)")
	corsOrigins := fs.String("cors-origins", server.DefaultCORSOrigins, `comma list of web origins (https://app.example.com) whose pages may call the REST API from a browser, or "*" for any; empty sends no CORS headers`)
	if _, err := parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	cfg.CORSOrigins = strings.Split(*corsOrigins, ",")
	// 0 would be the Config's "default": on the command line it is a
	// mistake, refused like any retention under the minimum.
	if cfg.EventRetention < server.MinEventRetention {
		return usageError(fmt.Sprintf("--event-retention (WORKSPACE_EVENT_RETENTION) is %s: it must be at least %s", cfg.EventRetention, server.MinEventRetention))
	}
	tuneGC(os.LookupEnv)
	// The log (a line per request) reaches stderr in batches, at most
	// logwriter.DefaultDelay late; whatever is left is written on the way
	// out. The banner does not wait: see bannerWriter.
	logs := logwriter.New(stderr, 0, 0)
	defer logs.Flush()
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(logs, nil)
	case "json":
		handler = slog.NewJSONHandler(logs, nil)
	default:
		return usageError("--log-format must be text or json")
	}
	cfg.Logger = slog.New(handler)
	cfg.Banner = bannerWriter{flushLog: logs.Flush, stderr: stderr}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate")
	database := databaseFlag(fs)
	if _, err := parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	applied, err := server.Migrate(ctx, *database)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "No migrations to apply: the database is up to date.")
	}
	for _, m := range applied {
		fmt.Fprintln(stdout, "applied", m)
	}
	return nil
}

const workspacesUsage = `Usage:
  workspaced workspaces create --name NAME [--plan free|pro|enterprise] [--database …]
  workspaced workspaces set-plan WORKSPACE_ID PLAN [--database …]
Run "workspaced workspaces COMMAND --help" for a command's flags.
`

func workspaces(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, workspacesUsage)
		return usageError("workspaces needs a subcommand: create or set-plan")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, workspacesUsage)
		return nil
	case "create":
		fs := newFlags("workspaces create")
		name := fs.String("name", "", "the workspace's name (required)")
		plan := fs.String("plan", ratelimit.Free.Name, "free, pro or enterprise")
		database := databaseFlag(fs)
		if _, err := parse(fs, args[1:], stdout, stderr); err != nil {
			return err
		}
		// Checked before the database is opened (and maybe created).
		if _, err := admin.WorkspaceName(*name); err != nil {
			return usageError("--name is required")
		}
		if err := admin.CheckPlan(*plan); err != nil {
			return usageError(message(err))
		}
		return withAdmin(ctx, *database, func(ops *admin.Ops) error {
			c, err := ops.CreateWorkspace(ctx, admin.WorkspaceSpec{Name: *name, Plan: *plan})
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "Created workspace %q on the %s plan, and an admin key (%s) shown only this once:\n", c.Workspace.Name, c.Workspace.Plan, c.Key.ID)
			fmt.Fprintln(stdout, c.Workspace.ID)
			fmt.Fprintln(stdout, c.Secret)
			return nil
		})
	case "set-plan":
		fs := newFlags("workspaces set-plan")
		database := databaseFlag(fs)
		pos, err := parse(fs, args[1:], stdout, stderr)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return usageError("usage: workspaced workspaces set-plan WORKSPACE_ID PLAN")
		}
		if err := admin.CheckPlan(pos[1]); err != nil {
			return usageError(message(err))
		}
		return withAdmin(ctx, *database, func(ops *admin.Ops) error {
			if err := ops.SetPlan(ctx, pos[0], pos[1]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Workspace %s is now on the %s plan.\n", pos[0], pos[1])
			return nil
		})
	}
	return usageError(fmt.Sprintf("unknown workspaces subcommand %q (want create or set-plan)", args[0]))
}

const keysUsage = `Usage:
  workspaced keys create --workspace WORKSPACE_ID --scopes read,write [--name NAME] [--expires-in 720h] [--database …]
  workspaced keys revoke KEY_ID [--database …]
Run "workspaced keys COMMAND --help" for a command's flags.
`

func keys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return usageError("keys needs a subcommand: create or revoke")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, keysUsage)
		return nil
	case "create":
		fs := newFlags("keys create")
		workspace := fs.String("workspace", "", "the workspace's id (required)")
		scopes := fs.String("scopes", "", "comma-separated scopes: read, write, delete, admin (required)")
		name := fs.String("name", "", "a label for the key")
		expiresIn := fs.Duration("expires-in", 0, "lifetime, e.g. 720h; 0 never expires")
		database := databaseFlag(fs)
		if _, err := parse(fs, args[1:], stdout, stderr); err != nil {
			return err
		}
		if *workspace == "" {
			return usageError("--workspace is required")
		}
		var list []string
		for _, s := range strings.Split(*scopes, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		if len(list) == 0 {
			return usageError("--scopes must list one or more of read, write, delete, admin")
		}
		if _, err := admin.NormalizeScopes(list); err != nil {
			return usageError("--scopes: " + message(err)) // names the unknown scope
		}
		if *expiresIn < 0 {
			return usageError("--expires-in must not be negative")
		}
		return withAdmin(ctx, *database, func(ops *admin.Ops) error {
			var expires *time.Time
			if *expiresIn > 0 {
				t := time.Now().UTC().Add(*expiresIn).Truncate(time.Second)
				expires = &t
			}
			key, secret, err := ops.CreateKey(ctx, admin.KeySpec{WorkspaceID: *workspace, Name: *name, Scopes: list, ExpiresAt: expires})
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "Created key %s (%s) in workspace %s; it is shown only this once:\n", key.ID, strings.Join(key.Scopes, ","), *workspace)
			fmt.Fprintln(stdout, secret)
			return nil
		})
	case "revoke":
		fs := newFlags("keys revoke")
		database := databaseFlag(fs)
		pos, err := parse(fs, args[1:], stdout, stderr)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError("usage: workspaced keys revoke KEY_ID")
		}
		return withAdmin(ctx, *database, func(ops *admin.Ops) error {
			k, err := ops.RevokeKeyAnyWorkspace(ctx, pos[0])
			if err != nil {
				return err
			}
			// Servers trust a key they looked up for their cache's TTL.
			fmt.Fprintf(stdout, "Key %s is revoked. Running servers refuse it within %v (they trust a key they looked up for that long).\n", k.ID, auth.DefaultCacheTTL)
			return nil
		})
	}
	return usageError(fmt.Sprintf("unknown keys subcommand %q (want create or revoke)", args[0]))
}

// message is what the CLI shows of an operation's error: an API error's
// message, without its code.
func message(err error) string {
	if e, ok := apierror.As(err); ok {
		return e.Message
	}
	return err.Error()
}

// withAdmin opens the database (applying migrations), runs f with the admin
// operations on it and closes it.
func withAdmin(ctx context.Context, database string, f func(*admin.Ops) error) error {
	st, err := server.OpenStore(ctx, database)
	if err != nil {
		return err
	}
	err = f(admin.New(st, time.Now))
	var nf *store.NotFoundError
	if errors.As(err, &nf) {
		err = fmt.Errorf("no such %s", strings.ReplaceAll(nf.Resource, "_", " "))
	} else if e, ok := apierror.As(err); ok {
		err = errors.New(e.Message)
	}
	return errors.Join(err, st.Close())
}

// buildVersion is set at release time with -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion = ""

func version() string {
	v := buildVersion
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok && info.Main.Version != "" {
		v = info.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	if ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				v += " " + s.Value
			}
		}
	}
	return "workspaced " + v
}
