// Command ageevents makes the first events of a stopped workspaced's SQLite
// database two hours older, so that the settings page's end-to-end test can
// have the server's own pruner prune them (retention is at least an hour, and
// the binary has no fake clock). For web/settings/e2e only.
//
//	go run ./web/settings/e2e/ageevents DATABASE THROUGH_SEQ
package main

import (
	"database/sql"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: ageevents DATABASE THROUGH_SEQ")
	}
	through, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil {
		log.Fatalf("THROUGH_SEQ: %v", err)
	}
	db, err := sql.Open("sqlite", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	// created_at is unix microseconds (store/sqlite/migrations/0007_events.sql).
	res, err := db.Exec(`UPDATE events SET created_at = created_at - ? WHERE seq <= ?`, (2 * time.Hour).Microseconds(), through)
	if err != nil {
		log.Fatal(err)
	}
	n, _ := res.RowsAffected()
	fmt.Println(n)
}
