"""memprof attach at rate 1 (and at the default rate, and rate 100): the attachee's
allocations after the attach are exact in heap, site by site; the objects it made
before, reallocated, measured and freed after, cause no crash and no negative count.
Twenty attaches."""

import harness
import pprof
from attachlib import attach, command, finish, start

ATTACHES = 20


def check_heap(m, pid, want):
    h = pprof.Profile(m.read(pid, "heap"))
    inuse = h.by_top_function("inuse_space")
    objs = h.by_top_function("inuse_objects")
    for site, (nbytes, nobjs) in want.items():
        harness.check(inuse.get(site) == nbytes and objs.get(site) == nobjs,
                      "%s: %r bytes %r objects, want %d %d"
                      % (site, inuse.get(site), objs.get(site), nbytes, nobjs))
    for site, v in inuse.items():
        harness.check(v >= 0, "negative %s" % site)
    return h


with harness.Mount() as m:
    for i in range(ATTACHES):
        rate = 1 if i % 3 != 2 else (524288 if i % 2 else 100)
        p, line = start("attachee", args=["read", "8" if i % 4 == 3 else "0"])
        pid = p.pid
        attach(pid, rate)
        command(p, "realloc-pre")
        usable = command(p, "usable-pre")
        command(p, "free-pre")
        command(p, "a 1000 100")
        command(p, "b 5000 20")
        command(p, "c 3000 10")
        ms = harness.memstats(m.read(pid, "memstats").decode())
        harness.check(ms["SampleRate"] == rate, "SampleRate %r" % ms["SampleRate"])
        harness.check(ms["HeapObjects"] >= 0 and ms["Mallocs"] >= 130, "memstats %r" % ms)
        if rate == 1:
            check_heap(m, pid, {"site_a": (100000, 100), "site_b": (100000, 20),
                                "site_c": (30000, 10)})
            txt = m.read(pid, "heap.txt").decode()
            harness.check("attach" in txt.split("\n\n")[0], "heap.txt does not say since "
                          "attach:\n" + txt[:300])
        finish(p)
print("ok")
