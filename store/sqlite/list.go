package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/keyset"
	"github.com/example/workspace/store/sqlite/engine"
)

// sqlDialect is SQLite's for package keyset: ? placeholders, unix microseconds.
var sqlDialect = keyset.Dialect{
	Param: func(int) string { return "?" },
	Time:  func(t time.Time) any { return t.UnixMicro() },
}

// ftsSearch answers a search from an FTS5 table with the trigram tokenizer
// (migration 0006): the text as one quoted phrase matches exactly the rows in
// one of whose columns it occurs, case-insensitively — ILIKE '%text%', which
// is what the PostgreSQL store runs.
func ftsSearch(table string) keyset.Search {
	return func(q *keyset.Query, text string) string {
		phrase := `"` + strings.ReplaceAll(text, `"`, `""`) + `"`
		return "rowid IN (SELECT rowid FROM " + table + " WHERE " + table + " MATCH " + q.Arg(phrase) + ")"
	}
}

// listParts reads one page of the rows of table that base selects.
func listParts[T any](ctx context.Context, tx engine.ReadTx, scan func(engine.Scanner) (T, error), cols, table string, base *keyset.Query, sort keyset.Sort, page store.Page) ([]T, error) {
	parts, err := keyset.Parts(base, sort, page)
	if err != nil {
		return nil, err
	}
	return keyset.Fetch(parts, page.Limit, page.Offset,
		func(p keyset.Part, limit, offset int) ([]T, error) {
			return list(ctx, tx, scan, `SELECT `+cols+` FROM `+table+` WHERE `+p.Where()+
				` ORDER BY `+p.OrderBy+` LIMIT ? OFFSET ?`, append(p.Args(), limit, offset)...)
		},
		func(p keyset.Part) (int, error) {
			return count(ctx, tx, `SELECT count(*) FROM `+table+` WHERE `+p.Where(), p.Args()...)
		})
}
