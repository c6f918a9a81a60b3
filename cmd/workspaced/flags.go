package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/example/workspace/server"
)

// envTwin names the environment twin of a flag, if it has one. Only the
// server's own settings have twins (the flags of serve, and --database of
// every command): they are what a deployment sets once for every run. The
// other commands' flags (--name, --plan, --workspace, --scopes, --expires-in)
// have none, so that a variable left in a shell, such as WORKSPACE_NAME,
// cannot change what a command does.
func envTwin(flagName string) (string, bool) {
	switch flagName {
	case "redis":
		return "WORKSPACE_REDIS_URL", true
	case "http-addr", "grpc-addr", "admin-addr", "database", "log-format", "shutdown-timeout", "drain-delay", "cors-origins", "event-retention", "webhook-allow-private":
		return "WORKSPACE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_")), true
	}
	return "", false
}

// newFlags returns a flag set for a command; parse prints its usage.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would print its error and the usage here; parse
	// prints them itself, to stdout for --help and to stderr for an error.
	fs.SetOutput(io.Discard)
	return fs
}

// printUsage lists a command's flags with their environment twins.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage of workspaced %s:\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		env := ""
		if name, ok := envTwin(f.Name); ok {
			env = "env " + name + ", "
		}
		fmt.Fprintf(w, "  --%s (%sdefault %q)\n      %s\n", f.Name, env, f.DefValue, f.Usage)
	})
}

// parse reads the command line, then the environment twins of the flags it
// did not set (the command line wins), and returns the positional arguments;
// flags may come before or after them. With -h or --help it prints the usage
// to stdout and returns flag.ErrHelp, which run turns into exit status 0.
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(stdout, fs)
				return nil, flag.ErrHelp
			}
			printUsage(stderr, fs)
			return nil, usageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name, ok := envTwin(f.Name)
		if !ok || set[f.Name] || envErr != nil {
			return
		}
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil {
				envErr = usageError(fmt.Sprintf("%s: %v", name, err))
			}
		}
	})
	return positional, envErr
}

func databaseFlag(fs *flag.FlagSet) *string {
	var database string
	databaseVar(fs, &database)
	return &database
}

func databaseVar(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "database", server.DefaultDatabase, "SQLite file path, or a postgres:// URL")
}
