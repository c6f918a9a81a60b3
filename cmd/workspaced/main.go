// Command workspaced runs and administers the Workspace API server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/example/workspace/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "workspaced:", err)
		os.Exit(exitCode(err))
	}
}

// usage shows the server's own defaults.
const usage = `workspaced runs and administers the Workspace API.

Usage:
  workspaced serve      [--http-addr ` + server.DefaultHTTPAddr + `] [--grpc-addr ` + server.DefaultGRPCAddr +
	`] [--admin-addr ` + server.DefaultAdminAddr + `] [--database ` + server.DefaultDatabase + `]
  workspaced migrate    [--database …]
  workspaced workspaces create --name NAME [--plan free|pro|enterprise] [--database …]
  workspaced workspaces set-plan WORKSPACE_ID PLAN [--database …]
  workspaced keys create --workspace WORKSPACE_ID --scopes read,write [--name NAME] [--expires-in 720h] [--database …]
  workspaced keys revoke KEY_ID [--database …]
  workspaced version

The server's settings (the flags of serve, and --database of every command) have
environment twins: --http-addr is WORKSPACE_HTTP_ADDR, and so on; the flag wins.
The other commands' flags have none.
Run "workspaced COMMAND --help" for a command's flags.
`

type usageError string

func (e usageError) Error() string { return string(e) }

func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

// run dispatches a command line; main is only signals and exit codes. A
// command asked for its help (-h, --help) prints it and succeeds.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, stdout, stderr)
	case "workspaces":
		return workspaces(ctx, rest, stdout, stderr)
	case "keys":
		return keys(ctx, rest, stdout, stderr)
	case "version", "--version":
		if _, err := parse(newFlags("version"), rest, stdout, stderr); err != nil {
			return err
		}
		fmt.Fprintln(stdout, version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError(fmt.Sprintf("unknown command %q", cmd))
}
