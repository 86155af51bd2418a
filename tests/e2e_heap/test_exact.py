"""At MEMPROF_RATE=1 heap and allocs are exact: each leak site's bytes and objects, the
churn site in allocs, file:line for `go tool pprof -list`, and Go's header."""

import os
import re
import shutil
import tempfile

import harness
import pprof
from heaptest import finish, start_example

MiB = 1 << 20

with harness.Mount() as m:
    p, pid = start_example("leak", rate=1)
    tmp = tempfile.mkdtemp()
    try:
        heap_path = os.path.join(tmp, "heap.pb.gz")
        shutil.copyfile(m.path(pid, "heap"), heap_path)
        h = pprof.load(heap_path)
        harness.check(h.sample_types == [("alloc_objects", "count"), ("alloc_space", "bytes"),
                                         ("inuse_objects", "count"), ("inuse_space", "bytes")],
                      "sample types %r" % h.sample_types)
        harness.check(h.period_type == ("space", "bytes") and h.period == 1,
                      "period %r %r" % (h.period_type, h.period))
        harness.check(h.default_sample_type == "inuse_space", h.default_sample_type)
        harness.check(h.time_nanos > 0, "time_nanos unset")

        inuse = h.by_top_function("inuse_space")
        objs = h.by_top_function("inuse_objects")
        harness.check(inuse.get("leak_big") == 64 * MiB,
                      "leak_big inuse %r, want %d" % (inuse.get("leak_big"), 64 * MiB))
        harness.check(objs.get("leak_big") == 64, "leak_big objects %r" % objs.get("leak_big"))
        harness.check(inuse.get("leak_small") == 4096 * 1000,
                      "leak_small inuse %r" % inuse.get("leak_small"))
        harness.check(objs.get("leak_small") == 4096, "leak_small objects %r" % objs.get("leak_small"))
        harness.check(inuse.get("churn", 0) == 0, "churn leaks? %r" % inuse.get("churn"))
        for smp in h.samples:
            harness.check("bytes" in smp["labels"], "sample without bytes label")
        big = [s for s in h.samples if pprof.Profile.frames(s)[:1] == ["leak_big"]]
        harness.check(all(s["labels"]["bytes"] == MiB for s in big), "bytes label of leak_big")
        harness.check(pprof.Profile.frames(big[0])[1] == "main",
                      "leak_big's caller: %r" % pprof.Profile.frames(big[0])[:3])

        # the same numbers through go tool pprof itself
        top = harness.go_pprof("-top", "-unit=B", "-sample_index=inuse_space", heap_path)
        harness.check(re.search(r"^\s*%dB .* leak_big$" % (64 * MiB), top, re.M),
                      "go tool pprof -top lacks leak_big 64 MiB:\n" + top)
        top = harness.go_pprof("-top", "-sample_index=inuse_objects",
                               m.path(pid, "heap"))
        harness.check(re.search(r"^\s*4096 .* leak_small$", top, re.M),
                      "go tool pprof -top lacks leak_small 4096 objects:\n" + top)
        listing = harness.go_pprof("-list", "^leak_big$", heap_path)
        harness.check("malloc(obj)" in listing and "64MB" in listing,
                      "go tool pprof -list has no source line for leak_big:\n" + listing)

        # allocs: same data, alloc_space by default, and the churn site shows
        a = pprof.Profile(m.read(pid, "allocs"))
        harness.check(a.default_sample_type == "alloc_space", a.default_sample_type)
        churn = a.by_top_function("alloc_objects").get("churn")
        harness.check(churn == 200000, "churn alloc_objects %r, want 200000" % churn)
        harness.check(a.by_top_function("inuse_space").get("churn", 0) == 0, "churn inuse")

        # heap.txt: one entry per stack, the same exact numbers, totals that add up
        txt = m.read(pid, "heap.txt").decode()
        blocks = txt.split("\n\n")
        entries = {b.split("\n")[1].split()[0]: b.split("\n")[0] for b in blocks[1:]}
        harness.check(entries.get("leak_big", "").startswith(
            "64 objects, %d bytes in use; 64 objects, %d bytes allocated" % (64 * MiB, 64 * MiB)),
            "heap.txt leak_big entry: %r" % entries.get("leak_big"))
        harness.check(entries.get("leak_small", "").startswith("4096 objects, 4096000 bytes in use"),
                      "heap.txt leak_small entry: %r" % entries.get("leak_small"))
        inuse = sum(int(b.split("\n")[0].split()[2]) for b in blocks[1:])
        total = re.search(r"^total: \d+ objects, (\d+) bytes in use", txt, re.M)
        harness.check(total and int(total.group(1)) == inuse, "heap.txt totals do not add up")
        harness.check(len(set(b.split("\n", 1)[1] for b in blocks[1:])) == len(blocks) - 1,
                      "heap.txt repeats a stack")

        # memstats agrees at rate 1
        ms = harness.memstats(m.read(pid, "memstats").decode())
        for k in ("Mallocs", "Frees", "HeapObjects", "TotalAlloc", "HeapAlloc", "SampleRate"):
            harness.check(k in ms, "memstats lacks %s" % k)
        harness.check(ms["SampleRate"] == 1, "SampleRate %r" % ms["SampleRate"])
        harness.check(ms["HeapAlloc"] >= 64 * MiB + 4096000, "HeapAlloc %d" % ms["HeapAlloc"])
        harness.check(ms["Mallocs"] - ms["Frees"] == ms["HeapObjects"], "HeapObjects")
        harness.check(ms["Mallocs"] >= 64 + 4096 + 200000, "Mallocs %d" % ms["Mallocs"])
        finish(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
print("ok")
