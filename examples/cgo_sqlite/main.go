// cgo_sqlite leaks prepared statements through database/sql over sqlite3 (Debian's
// golang-github-mattn-go-sqlite3-dev, linked to the system's libsqlite3): each one holds
// C memory Go's own heap profile cannot see.  It prints "ready PID BYTES", BYTES being
// how much more memory sqlite3 says it holds after the leak (sqlite3_memory_used), then
// waits for EOF on stdin.
package main

/*
#cgo LDFLAGS: -lsqlite3
#include <sqlite3.h>
*/
import "C"

import (
	"bufio"
	"database/sql"
	"fmt"
	"os"

	_ "github.com/mattn/go-sqlite3"
)

var kept []*sql.Stmt

//go:noinline
func leakStatements(db *sql.DB, n int) {
	for i := 0; i < n; i++ {
		st, err := db.Prepare(fmt.Sprintf("SELECT v FROM t WHERE k = ? AND %d = %d", i, i))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		kept = append(kept, st)
	}
}

func main() {
	db, err := sql.Open("sqlite3", ":memory:")
	if err == nil {
		db.SetMaxOpenConns(1)
		_, err = db.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	before := int64(C.sqlite3_memory_used())
	leakStatements(db, 2000)
	after := int64(C.sqlite3_memory_used())
	fmt.Printf("ready %d %d\n", os.Getpid(), after-before)
	bufio.NewReader(os.Stdin).ReadString('\n')
	db.Close()
}
