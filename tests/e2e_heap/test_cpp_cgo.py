"""C++ (new, std::string, std::vector) with readable and mangled names, and a cgo
program whose heap shows its C-side leak and its Go-side one in one go tool pprof view
(tests/e2e_go/test_cgo.py checks the two halves for every Go version)."""

import os
import re
import shutil
import tempfile

import harness
import pprof
from heaptest import finish, start_example

KiB, MiB = 1 << 10, 1 << 20

with harness.Mount() as m:
    p, pid = start_example("leak_cpp", rate=1)
    h = pprof.Profile(m.read(pid, "heap"))

    def fn(prefix):
        """The readable name the symbolizer gave a C++ function (with or without its
        parameter list)."""
        names = [f["name"] for f in h.functions.values() if f["name"].startswith(prefix)]
        harness.check(names, "no function named %s...: %r" % (prefix, sorted(
            f["name"] for f in h.functions.values())[:60]))
        return names[0]

    make_chain, fill_fn = fn("demo::Node::make_chain"), fn("demo::Cache::fill")
    chain = h.by_function("inuse_objects", make_chain)
    harness.check(chain == 10000, "make_chain objects %r; functions: %r"
                  % (chain, sorted({f["name"] for f in h.functions.values()})[:40]))
    harness.check(h.by_function("inuse_space", make_chain) == 10000 * 128,
                  "make_chain bytes")
    fill = h.by_function("inuse_space", fill_fn)
    harness.check(fill >= 2000 * 4001, "Cache::fill keeps %r bytes" % fill)
    names = {f["name"]: f["system_name"] for f in h.functions.values()}
    harness.check(names.get(make_chain, "").startswith("_ZN4demo4Node"),
                  "system_name of make_chain: %r" % names.get(make_chain))
    for s in h.samples:
        top = pprof.Profile.frames(s)[:1]
        harness.check(not top or not top[0].startswith("operator new"),
                      "operator new on top of a stack")
    a = pprof.Profile(m.read(pid, "allocs"))
    churn_fn = [f["name"] for f in a.functions.values()
                if f["name"].startswith("demo::churn_strings")]
    harness.check(churn_fn and a.by_function("alloc_objects", churn_fn[0]) >= 100000 * 0.99,
                  "churn_strings allocations")
    finish(p)

    tmp = tempfile.mkdtemp()
    try:
        go_heap = os.path.join(tmp, "go_heap.pb.gz")
        p, pid = start_example("cgo_leak", [go_heap], rate=1)
        ours = pprof.Profile(m.read(pid, "heap"))
        c = ours.by_function("inuse_space", "c_leak")
        harness.check(c == 32 * MiB, "c_leak inuse %r, want %d" % (c, 32 * MiB))
        # go_heap: the program runs a GC before writing it, which publishes its Go leak
        top = harness.go_pprof("-top", "-unit=B", "-sample_index=inuse_space",
                               m.path(pid, "heap"))
        harness.check(re.search(r"^\s*%dB .* c_leak$" % (32 * MiB), top, re.M),
                      "merged view lacks c_leak:\n" + top)
        harness.check(re.search(r"main\.goLeak$", top, re.M), "merged view lacks goLeak:\n" + top)
        finish(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
print("ok")
