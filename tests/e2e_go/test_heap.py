"""heap, allocs and heap.txt of a Go process, read from its runtime's profiling buckets,
against the process's own /debug/pprof/heap fetched right after, for every installed Go
version (and PIE, -trimpath with the newest)."""

import subprocess
import urllib.request

import gobuild
import harness
import pprof

LEAK = "main.leakIntoCache"


def own_heap(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/debug/pprof/heap" % port,
                                timeout=30) as r:
        return r.read()


vs = gobuild.require_versions()
builds = [(v, go, "default") for v, go in vs]
newest, newest_go = vs[-1]
builds += [(newest, newest_go, "pie"), (newest, newest_go, "trimpath")]

with harness.Mount() as m:
    for v, go, variant in builds:
        label = "go%s %s" % (v, variant)
        binary = gobuild.build("leakcache", v, go, variant)
        p = harness.spawn([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        port = int(harness.wait_for_line(p, "ready ").split()[1])

        ours = m.read(p.pid, "heap")
        text = m.read(p.pid, "heap.txt").decode()
        allocs = pprof.Profile(m.read(p.pid, "allocs"))
        own = pprof.Profile(own_heap(port))
        h = pprof.Profile(ours)

        for st in ("inuse_space", "inuse_objects", "alloc_space", "alloc_objects"):
            got, want = h.by_function(st, LEAK), own.by_function(st, LEAK)
            harness.check(want > 0,
                          "%s: the process's own profile has %r %s in %s"
                          % (label, want, st, LEAK))
            harness.check(abs(got - want) <= want * 0.01,
                          "%s: %s of %s is %r, /debug/pprof/heap says %r"
                          % (label, st, LEAK, got, want))
        harness.check(allocs.by_function("alloc_space", LEAK) == h.by_function("alloc_space", LEAK),
                      "%s: allocs and heap disagree" % label)
        harness.check(LEAK in text and "as of the last completed GC" in text,
                      "%s: heap.txt:\n%s" % (label, text))
        harness.check("runtime.goexit" not in text, "%s: runtime.goexit in heap.txt" % label)
        top = harness.go_pprof("-top", m.path(p.pid, "heap"))
        harness.check(LEAK in top, "%s: go tool pprof -top:\n%s" % (label, top))
        print("ok", label, h.by_function("inuse_space", LEAK))
        p.stdin.close()
        p.wait(timeout=30)
