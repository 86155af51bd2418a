"""Process and loader storms during sampling (tests/faults/storm.c): 200 fork+exec of
/bin/true, vfork+exec, posix_spawn, forked children that allocate and exit with a code
they computed, a thread that dlopens and dlcloses a library allocating in its
constructor and its function, two threads allocating at MEMPROF_RATE=1 and a signal
handler allocating between their allocator calls.  Output and exit code are the same
without the shim, with it at rate 1 and at the default rate; the storm's heap, allocs,
memstats and threads.txt stay readable throughout and its counts only grow."""

import subprocess
import threading

import harness
import pprof
from faultlib import STORM, STORMLIB, check_clean, read_all


def check_threads_txt(th):
    """Whole: as many thread entries as the head says, each with frames, or marked as a
    thread that was exiting when it was collected (the storm's threads end while it is
    read).  The main thread, waiting for them or in vfork, always has frames.  (Its own
    deeper frames may be lost while it waits in vfork: the child runs on, and
    overwrites, the stack below the parent's registers.)"""
    n = int(th.split(":", 1)[1].split()[0])
    entries = th.split("\nTID ")[1:]
    harness.check(th.startswith("# pid ") and th.endswith("\n") and len(entries) == n and
                  all("\n#0 " in e or "\n    (no stack: exited)\n" in e for e in entries),
                  "threads.txt:\n" + th)
    pid = th.split(":", 1)[0].split()[-1]
    main = [e for e in entries if e.split(" ", 1)[0] == pid]
    harness.check(len(main) == 1 and "\n#0 " in main[0], "no main thread with frames:\n" + th)


def run(shim, rate=None, m=None):
    """Runs the storm; with a mount, reads its files until it is done.  Returns
    ((stdout, exit code), number of rounds of reads)."""
    p = harness.spawn([STORM, STORMLIB], shim=shim, rate=rate, stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)
    lines = [p.stdout.readline()]
    harness.check(lines[0] == "started\n", "storm: %r" % lines)
    done = threading.Event()

    def collect():
        for line in p.stdout:
            lines.append(line)
            if line == "done\n":
                break
        done.set()

    t = threading.Thread(target=collect)
    t.start()
    rounds = 0
    last = None
    while m is not None and not done.wait(0.05):
        pid = p.pid
        heap = pprof.Profile(read_all(m.path(pid, "heap")))
        allocs = pprof.Profile(read_all(m.path(pid, "allocs")))
        harness.check(heap.period == (rate or 524288), "heap period %r" % heap.period)
        ms = harness.memstats(read_all(m.path(pid, "memstats")).decode())
        if last is not None:
            for k in ("Mallocs", "Frees", "TotalAlloc", "Samples"):
                harness.check(ms[k] >= last[k], "%s went down: %d -> %d" % (k, last[k], ms[k]))
        last = ms
        if rate == 1:
            harness.check(allocs.by_function("alloc_objects", "allocator") > 0,
                          "no allocations from the allocator threads")
        check_threads_txt(read_all(m.path(pid, "threads.txt")).decode())
        rounds += 1
    t.join(120)
    harness.check(not t.is_alive(), "the storm did not finish")
    final = None
    if m is not None:
        final = pprof.Profile(read_all(m.path(p.pid, "allocs")))
    out, _ = p.communicate("exit\n", timeout=60)
    return ("".join(lines) + out, p.returncode), rounds, final


want, _, _ = run(shim=False)
harness.check(want[1] == 0 and "FAIL" not in want[0] and want[0].endswith("done\n"),
              "storm without the shim: %r" % (want,))
with harness.Mount() as m:
    got, rounds, allocs = run(shim=True, rate=1, m=m)
    harness.check(got == want, "output at rate 1 %r, without the shim %r" % (got, want))
    harness.check(rounds >= 3, "only %d rounds of reads during the storm" % rounds)
    print("rate 1: %d rounds of heap, allocs, memstats, threads.txt during the storm" % rounds)
    # The library's constructor ran once per dlopen, and each of its allocations is in
    # the profile under dlopen's call_init.  Its own frames have no name: the library was
    # unloaded (dlclose) before the file was read, so its addresses map to nothing.
    ctor = sum(smp["values"][0] for smp in allocs.samples
               if {"call_init", "dl_storm"} <= set(pprof.Profile.frames(smp)))
    harness.check(ctor == 200, "constructor allocations %d, want 200 (one per dlopen)" % ctor)
    unmapped = [loc for smp in allocs.samples for loc in smp["locations"]
                if not loc["lines"] and loc["mapping"] == 0]
    harness.check(all(loc["address"] for loc in unmapped), "a location without address")
    print("allocations under dl_storm %d, from the constructor %d; %d locations in the "
          "unloaded library" % (allocs.by_function("alloc_objects", "dl_storm"), ctor,
                                len(unmapped)))
    for fn in ("on_signal", "allocator"):
        harness.check(allocs.by_function("alloc_objects", fn) > 0, "no allocations in %s" % fn)
    got, rounds, _ = run(shim=True, m=m)
    harness.check(got == want, "output at the default rate %r" % (got,))
    harness.check(m.proc.poll() is None, "the daemon died")
check_clean(m)
print("ok")
