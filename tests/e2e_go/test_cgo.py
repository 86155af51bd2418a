"""One heap for a cgo program under the shim: the Go runtime's samples and the shim's in
heap, allocs and heap.txt, each sample labelled allocator=go or allocator=malloc, so that
go tool pprof -tagfocus separates them, and the C allocations' stacks continued into the
goroutine's Go frames up to main.main; for every installed Go version.  Ground truth:
examples/cgo_leak leaks 32 MiB from C (exact at MEMPROF_RATE=1) and 16 MiB from Go (at
MemProfileRate 1), and writes its own Go heap profile after a GC."""

import os
import re
import shutil
import subprocess
import tempfile

import gobuild
import harness
import pprof

MiB = 1 << 20
C_LEAK, GO_LEAK = "c_leak", "main.goLeak"


def top(path, allocator):
    """go tool pprof -top of one allocator's samples: {function: flat bytes}."""
    out = harness.go_pprof("-top", "-unit=B", "-sample_index=inuse_space",
                           "-tagfocus=allocator=" + allocator, path)
    flat = {}
    for m in re.finditer(r"^\s*(\d+)B\s+\S+\s+\S+\s+\d+B\s+\S+\s+(\S.*)$", out, re.M):
        flat[m.group(2).strip()] = int(m.group(1))
    return flat, out


def check_version(m, label, binary, tmp):
    own_path = os.path.join(tmp, "own-%s.pb.gz" % label.replace(" ", "-"))
    p = harness.spawn([binary, own_path], shim=True, rate=1, stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)
    pid = int(harness.wait_for_line(p, "ready ").split()[1])
    own = pprof.load(own_path)
    want_go = own.by_function("inuse_space", GO_LEAK)
    harness.check(want_go >= 16 * MiB, "%s: the program's own profile has %r bytes in %s"
                  % (label, want_go, GO_LEAK))

    h = pprof.Profile(m.read(pid, "heap"))
    for s in h.samples:
        frames = pprof.Profile.frames(s)
        want = "malloc" if C_LEAK in frames else "go" if GO_LEAK in frames else None
        harness.check(s["labels"].get("allocator") in ("go", "malloc"),
                      "%s: a sample without an allocator label: %r" % (label, s["labels"]))
        harness.check(want is None or s["labels"]["allocator"] == want,
                      "%s: %s sample labelled %r" % (label, want, s["labels"]))
    harness.check(h.by_function("inuse_space", C_LEAK) >= 32 * MiB,
                  "%s: c_leak in heap: %r" % (label, h.by_function("inuse_space", C_LEAK)))
    got_go = h.by_function("inuse_space", GO_LEAK)
    harness.check(abs(got_go - want_go) <= want_go * 0.01,
                  "%s: goLeak in heap %r, its own profile %r" % (label, got_go, want_go))
    harness.check(any("allocator=go" in c for c in h.comments) and
                  any("allocator=malloc" in c for c in h.comments),
                  "%s: comments do not state each half's rate: %r" % (label, h.comments))

    path = m.path(pid, "heap")
    go_flat, go_top = top(path, "go")
    c_flat, c_top = top(path, "malloc")
    harness.check(C_LEAK not in go_flat and abs(go_flat.get(GO_LEAK, 0) - want_go)
                  <= want_go * 0.01,
                  "%s: -tagfocus=allocator=go (want %s %d):\n%s" % (label, GO_LEAK, want_go,
                                                                    go_top))
    # c_leak's 512 blocks of 64 KiB, exact at rate 1
    harness.check(GO_LEAK not in c_flat and c_flat.get(C_LEAK) == 32 * MiB,
                  "%s: -tagfocus=allocator=malloc:\n%s" % (label, c_top))

    # the C leak's stacks cross from the system stack into the goroutine's frames
    for s in h.samples:
        f = pprof.Profile.frames(s)
        if C_LEAK in f:
            harness.check("main._Cfunc_c_leak" in f and "main.main" in f and
                          f.index(C_LEAK) < f.index("main._Cfunc_c_leak") < f.index("main.main")
                          and "runtime.goexit" not in f,
                          "%s: a c_leak stack does not reach main.main: %r" % (label, f))
    traces = harness.go_pprof("-traces", "-tagfocus=allocator=malloc", path)
    harness.check(any(C_LEAK in t and "main.main" in t.split(C_LEAK, 1)[1]
                      for t in traces.split("-----------+")),
                  "%s: go tool pprof -traces has no stack from c_leak to main.main:\n%s"
                  % (label, traces[:3000]))

    a = pprof.Profile(m.read(pid, "allocs"))
    harness.check(a.by_function("alloc_space", C_LEAK) == h.by_function("alloc_space", C_LEAK)
                  and a.by_function("alloc_space", GO_LEAK)
                  == h.by_function("alloc_space", GO_LEAK),
                  "%s: allocs and heap disagree" % label)

    text = m.read(pid, "heap.txt").decode()
    totals = [int(x) for x in re.findall(r"^total: \d+ objects, (\d+) bytes in use", text,
                                          re.M)]
    sections = re.findall(r"^## allocator (\S+)$", text, re.M)
    harness.check(sections == ["malloc", "go"] and len(totals) == 3 and
                  totals[0] == totals[1] + totals[2] and totals[1] >= 32 * MiB and
                  totals[2] >= want_go,
                  "%s: heap.txt sections %r totals %r:\n%s" % (label, sections, totals,
                                                              text[:2000]))
    go_part = text[text.index("## allocator go"):]
    harness.check(GO_LEAK in go_part and C_LEAK not in go_part,
                  "%s: heap.txt's Go section:\n%s" % (label, go_part[:2000]))

    stats = m.read(pid, "memstats").decode()
    harness.check("# shim" in stats and "# go runtime" in stats,
                  "%s: memstats lacks a section:\n%s" % (label, stats))
    ms = harness.memstats(stats)
    harness.check(ms["HeapAlloc"] >= 32 * MiB and ms["go_HeapAlloc"] >= 16 * MiB,
                  "%s: memstats HeapAlloc %r go_HeapAlloc %r" % (label, ms["HeapAlloc"],
                                                                 ms["go_HeapAlloc"]))
    print("ok", label, "c", c_flat.get(C_LEAK), "go", go_flat.get(GO_LEAK), "own", want_go)
    p.stdin.close()
    p.wait(timeout=30)


vs = gobuild.require_versions()
tmp = tempfile.mkdtemp()
try:
    with harness.Mount() as m:
        for v, go in vs:
            check_version(m, "go" + v, gobuild.build("cgo_leak", v, go), tmp)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("ok")
