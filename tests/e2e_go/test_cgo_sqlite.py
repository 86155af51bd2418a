"""A real cgo library: database/sql over sqlite3 (Debian's golang-github-mattn-go-sqlite3-dev,
on the system's libsqlite3) leaking prepared statements, under the shim at rate 1, for
every installed Go version.  The C half holds exactly what sqlite3 says it holds
(sqlite3_memory_used, which the program reports) plus sqlite's 8-byte size header per
block, and each of those stacks reaches main.main through database/sql and the Go
function that called C."""

import os
import subprocess

import gobuild
import harness
import pprof

LEAK = "main.leakStatements"
CHAIN = ["sqlite3_prepare_v2", "runtime.asmcgocall",
         "github.com/mattn/go-sqlite3._Cfunc__sqlite3_prepare_v2_internal",
         "database/sql.(*DB).PrepareContext", LEAK, "main.main"]

if not os.path.isdir("/usr/share/gocode/src/github.com/mattn/go-sqlite3"):
    harness.skip("golang-github-mattn-go-sqlite3-dev is not installed (scripts/test.sh "
                 "installs it)")
vs = gobuild.require_versions()
with harness.Mount() as m:
    for v, go in vs:
        label = "go" + v
        binary = gobuild.build("cgo_sqlite", v, go)
        p = harness.spawn([binary], shim=True, rate=1, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
        ready = harness.wait_for_line(p, "ready ").split()
        pid, sqlite_bytes = int(ready[1]), int(ready[2])
        h = pprof.Profile(m.read(pid, "heap"))
        c = [s for s in h.samples if s["labels"].get("allocator") == "malloc" and
             LEAK in pprof.Profile.frames(s)]
        space = sum(s["values"][h.index("inuse_space")] for s in c)
        objects = sum(s["values"][h.index("inuse_objects")] for s in c)
        harness.check(sqlite_bytes > 0 and space == sqlite_bytes + 8 * objects,
                      "%s: %s holds %r bytes in %r C blocks; sqlite3 says %r (+8 a block)"
                      % (label, LEAK, space, objects, sqlite_bytes))
        prepared = 0
        for s in c:
            f = pprof.Profile.frames(s)
            if "sqlite3_prepare_v2" not in f or s["values"][h.index("inuse_space")] == 0:
                continue
            at = [f.index(fn) if fn in f else -1 for fn in CHAIN]
            harness.check(-1 not in at and at == sorted(at),
                          "%s: a prepared statement's stack lacks part of %r: %r"
                          % (label, CHAIN, f))
            prepared += 1
        harness.check(prepared > 0, "%s: no stack through sqlite3_prepare_v2" % label)
        print("ok", label, "sqlite3", sqlite_bytes, "heap", space, "blocks", objects)
        p.stdin.close()
        p.wait(timeout=30)
print("ok")
