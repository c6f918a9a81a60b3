// Package migrate loads the numbered SQL migrations a backend embeds and applies, through that backend's dialect hook, those its database lacks.
package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered SQL file.
type Migration struct {
	Version int64  // the number the file name starts with
	Name    string // the file name without ".sql", e.g. "0001_init"
	SQL     string
}

// Load reads the *.sql files of dir in fsys in version order. Every file must
// be named NNNN_description.sql with a positive number no other file has; a
// directory without any is an error, so that a build that lost its embedded
// files cannot report an up-to-date schema.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	ms := make([]Migration, 0, len(names))
	seen := make(map[int64]string, len(names))
	for _, p := range names {
		name := strings.TrimSuffix(path.Base(p), ".sql")
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description", name)
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share number %d", other, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Dialect is what a backend supplies to Run: how it records applied
// migrations and how it applies one. Serialising concurrent runners (a lock,
// an IMMEDIATE transaction) is the dialect's business, since only it knows
// what its database offers.
type Dialect interface {
	// Init creates the table that records applied migrations, if missing.
	Init(ctx context.Context) error
	// Apply applies m and records it in one transaction, unless it is
	// recorded already; it reports whether it applied m.
	Apply(ctx context.Context, m Migration) (bool, error)
}

// Run applies, in version order, the migrations of dir in fsys that d has not
// recorded, each in a transaction of its own (a failure leaves the earlier
// ones applied and recorded), and returns the names of those it applied;
// none, an empty list, if the schema was up to date. Versions the database
// records but fsys lacks are left alone: they come from a newer release
// during a rolling deploy.
func Run(ctx context.Context, fsys fs.FS, dir string, d Dialect) ([]string, error) {
	ms, err := Load(fsys, dir)
	if err != nil {
		return nil, err
	}
	if err := d.Init(ctx); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := []string{}
	for _, m := range ms {
		done, err := d.Apply(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if done {
			applied = append(applied, m.Name)
		}
	}
	return applied, nil
}
