"""64 concurrent readers, as threads and as processes: on one file (PID/heap), and on heap,
memstats and threads.txt of 16 profiled processes.  Every read returns the whole file
with its exact values (pprof decoded by tests/lib/pprof.py, memstats figures equal to a
quiet read, heap.txt byte for byte)."""

import os
import shutil
import tempfile

import harness
from faultlib import (check_clean, finish, leak_problems, leak_spec, read_all, reader_summary,
                      sha, shim_stats, start_leak, start_reader)

N = 64
PROCS = 16

specs = [leak_spec(big_mib=1 + i % 3, big_obj=32768 << (i % 4), small_count=5 + i,
                   churn=50 + 7 * i) for i in range(PROCS)]
tmp = tempfile.mkdtemp()
try:
    with harness.Mount() as m:
        procs = [start_leak(s) for s in specs]
        pids = [pid for _, pid in procs]
        ref = {pid: {"memstats": shim_stats(read_all(m.path(pid, "memstats")).decode()),
                     "heap.txt": read_all(m.path(pid, "heap.txt"))} for pid in pids}

        def check_summary(s, what, want):
            harness.check(not s["bad"] and not s["errors"],
                          "%s: %d bad %r, errors %r" % (what, s.get("nbad", 0), s["bad"],
                                                        s["errors"]))
            harness.check(s["ok"] == want, "%s: %d good reads of %d" % (what, s["ok"], want))
            print("%s: %d whole and exact reads" % (what, s["ok"]))

        # 64 threads on one file
        one = [[m.path(pids[0], "heap"), "leak", specs[0]]]
        r = start_reader({"threads": N, "rounds": 8, "files": one}, tmp, "one")
        check_summary(reader_summary(r, timeout=240), "64 threads on one heap", N * 8)

        # 64 threads on 16 processes' heap, memstats, threads.txt (and heap.txt)
        many = []
        for pid, spec in zip(pids, specs):
            many += [[m.path(pid, "heap"), "leak", spec],
                     [m.path(pid, "memstats"), "memstats", ref[pid]["memstats"]],
                     [m.path(pid, "threads.txt"), "threads.txt", "main"],
                     [m.path(pid, "heap.txt"), "sha", sha(ref[pid]["heap.txt"])]]
        r = start_reader({"threads": N, "rounds": 6, "files": many}, tmp, "many")
        check_summary(reader_summary(r, timeout=240), "64 threads on 16 processes", N * 6)

        # 64 processes: all on one heap, then each on its own file of the 16 processes
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        kinds = ("heap", "memstats", "heap.txt", "threads.txt")
        spread = [(pids[i % PROCS], kinds[i // PROCS], specs[i % PROCS]) for i in range(N)]
        for label, targets in (("one heap", [(pids[0], "heap", specs[0])] * N),
                               ("16 processes", spread)):
            outs = [os.path.join(tmp, "%d.out" % i) for i in range(N)]
            cats = []
            for (pid, name, spec), out in zip(targets, outs):
                with open(out, "wb") as f:
                    cats.append(harness.spawn(["cat", m.path(pid, name)], stdout=f, env=env))
            for c in cats:
                harness.check(c.wait(120) == 0, "cat exited with %d" % c.returncode)
            for (pid, name, spec), out in zip(targets, outs):
                data = read_all(out)
                if name == "heap":
                    bad = leak_problems(data, spec)
                elif name == "memstats":
                    bad = [] if shim_stats(data.decode()) == ref[pid]["memstats"] else [
                        "memstats %r" % data]
                elif name == "heap.txt":
                    bad = [] if data == ref[pid]["heap.txt"] else ["heap.txt differs"]
                else:
                    text = data.decode()
                    bad = [] if "main" in text and text.endswith("\n") else [text]
                harness.check(not bad, "64 cats on %s: pid %d %s: %s" % (label, pid, name, bad))
            print("64 processes on %s: all whole and exact" % label)
        harness.check(m.proc.poll() is None, "the daemon died")
        for p, _ in procs:
            finish(p)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
check_clean(m)
print("ok")
