"""16 threads allocating from 4^9 = 262144 distinct call stacks, each about 64 frames
deep, at MEMPROF_RATE=1, twice over, so the shim's stack and frame tables fill (16M
frames, beyond what it reserves at this rate): no crash, no deadlock, the same output as
without the shim; the losses are counted (memstats LostSamples, the heap file's comment,
heap.txt's head, all the same number), every allocation is either a sample or a loss,
the counts stay exact, and the profile still decodes with the sites it had room for."""

import subprocess

import harness
import pprof
from faultlib import SITES, check_clean, read_all

ARGS = ["--threads", "16", "--levels", "9", "--rounds", "2", "--keep-every", "1", "--pad",
        "50"]
PATHS = 4 ** 9
ALLOCS = 2 * PATHS


def run(m, rate):
    """Runs sites under the shim at `rate` (None: no shim); returns (stdout, exit code,
    memstats, heap, heap.txt) with the files read while it waits for "exit"."""
    p = harness.spawn([SITES] + ARGS, shim=rate is not None, rate=rate,
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    head = harness.wait_for_line(p, "paths", timeout=120)
    harness.check(harness.wait_for_line(p, "ready", timeout=10) == "ready\n", "ready")
    files = None
    if rate is not None:
        files = (harness.memstats(read_all(m.path(p.pid, "memstats")).decode()),
                 read_all(m.path(p.pid, "heap")), read_all(m.path(p.pid, "heap.txt")))
    out, _ = p.communicate("exit\n", timeout=60)
    return (head + "ready\n" + out, p.returncode), files


with harness.Mount() as m:
    plain, _ = run(m, None)
    harness.check(plain == ("paths %d threads 16 allocs %d bytes %d kept %d\nready\n" %
                            (PATHS, ALLOCS, sum(16 + 8 * (p % 5) for p in range(PATHS)) * 2,
                             PATHS), 0), "plain run %r" % (plain,))
    counted, (ms0, _, _) = run(m, 0)  # sampling off: the exact counts to compare with
    harness.check(counted == plain, "output at rate 0 %r" % (counted,))
    full, (ms, heap, text) = run(m, 1)
    harness.check(full == plain, "output at rate 1 %r, without the shim %r" % (full, plain))

    lost = ms["LostSamples"]
    print("samples %d, lost %d, mallocs %d" % (ms["Samples"], lost, ms["Mallocs"]))
    harness.check(lost > 0, "no samples lost: %r" % ms)
    harness.check(ms["Samples"] + lost >= ALLOCS, "samples %d + lost %d < %d allocations" %
                  (ms["Samples"], lost, ALLOCS))
    harness.check(ms["Samples"] + lost <= ms["Mallocs"], "more samples than mallocs: %r" % ms)
    for k in ("Mallocs", "Frees", "TotalAlloc"):
        harness.check(ms[k] == ms0[k], "%s %d at rate 1, %d at rate 0" % (k, ms[k], ms0[k]))

    h = pprof.Profile(heap)
    harness.check(("memprof: %d samples lost (tables full); figures are low" % lost)
                  in h.comments, "heap comments %r" % h.comments)
    harness.check(("# lost samples %d\n" % lost).encode() in text[:400],
                  "heap.txt head %r" % text[:400])
    leaves = [s for s in h.samples if pprof.Profile.frames(s)[:1] == ["leaf"]]
    sites = len(leaves)
    harness.check(1000 < sites < PATHS, "%d leaf sites" % sites)
    # every recorded site is a whole stack: leaf, step, one step0..3 per level, pad...
    for s in leaves[:2000]:
        f = pprof.Profile.frames(s)
        steps = [x for x in f if x.startswith("step")]
        harness.check(f[1] == "step" and len(steps) == 10 and f[11:16] == ["pad"] * 5,
                      "stack %r" % f[:13])
    ix = h.index("alloc_objects")
    harness.check(sum(s["values"][ix] for s in h.samples) == ms["Samples"],
                  "profile holds %d allocations, memstats says %d samples" %
                  (sum(s["values"][ix] for s in h.samples), ms["Samples"]))
    harness.check(m.proc.poll() is None, "the daemon died")
check_clean(m)
print("ok")
