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

// envPrefix is the prefix of every flag's environment twin.
const envPrefix = "WORKSPACE_"

// envNames are twins whose names are not simply the flag's name.
var envNames = map[string]string{"redis": "WORKSPACE_REDIS_URL"}

func envName(flagName string) string {
	if n, ok := envNames[flagName]; ok {
		return n
	}
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlags returns a flag set whose usage lists each flag's environment twin.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage of workspaced %s:\n", name)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s (env %s, default %q)\n      %s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
		})
	}
	return fs
}

// parse applies environment twins, then the command line (which wins), and
// returns the positional arguments. Flags may come before or after them.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s: %w", envName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return nil, usageError(envErr.Error())
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usageError("help requested")
			}
			return nil, usageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func databaseFlag(fs *flag.FlagSet) *string {
	var database string
	databaseVar(fs, &database)
	return &database
}

func databaseVar(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "database", server.DefaultDatabase, "SQLite file path, or a postgres:// URL")
}
