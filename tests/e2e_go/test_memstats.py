"""memstats' Go section against the process's own runtime.ReadMemStats, for every
installed Go version and for PIE, -trimpath, CGO_ENABLED=0 and stripped builds."""

import json
import subprocess

import gobuild
import harness

# The program prints and starts answering after its ReadMemStats: a few more objects
# and spans, never another GC.
EXACT = ["NumGC", "NumForcedGC", "GOMAXPROCS", "MemProfileRate", "Goroutines", "LastGC",
         "PauseTotalNs", "MCacheInuse"]
WITHIN_1PCT = ["HeapAlloc", "Alloc", "HeapObjects", "Mallocs", "TotalAlloc", "HeapInuse",
               "HeapSys", "Sys", "NextGC"]


def start(binary):
    p = harness.spawn([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    own = json.loads(harness.wait_for_line(p, "memstats ").split(" ", 1)[1])
    harness.wait_for_line(p, "ready ")
    return p, own


def stop(p):
    p.stdin.close()
    p.wait(timeout=30)


def compare(label, text, own):
    ms = harness.memstats(text)
    for k in EXACT:
        harness.check(ms.get("go_" + k) == own[k], "%s: go_%s is %r, ReadMemStats says %r\n%s"
                      % (label, k, ms.get("go_" + k), own[k], text))
    for k in WITHIN_1PCT:
        got, want = ms.get("go_" + k), own[k]
        harness.check(got is not None and abs(got - want) <= want * 0.01,
                      "%s: go_%s is %r, ReadMemStats says %r (more than 1%% apart)\n%s"
                      % (label, k, got, want, text))
    harness.check("LD_PRELOAD" not in text, "%s: memstats advises LD_PRELOAD to a Go "
                  "process:\n%s" % (label, text))


vs = gobuild.require_versions()
builds = [(v, go, "default") for v, go in vs]
newest, newest_go = vs[-1]
builds += [(newest, newest_go, var) for var in ("pie", "trimpath", "nocgo", "stripped")]

with harness.Mount() as m:
    for v, go, variant in builds:
        label = "go%s %s" % (v, variant)
        p, own = start(gobuild.build("leakcache", v, go, variant))
        text = m.read(p.pid, "memstats").decode()
        harness.check("# go runtime (go%s." % v in text, "%s: no Go section:\n%s"
                      % (label, text))
        if variant == "stripped":
            harness.check("stripped Go binary: no DWARF" in text and "go_HeapAlloc" not in text,
                          "%s: no sentence for a stripped binary:\n%s" % (label, text))
        else:
            compare(label, text, own)
        print("ok", label)
        stop(p)
