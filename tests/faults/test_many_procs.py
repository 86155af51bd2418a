"""200 profiled processes at once (the leak example, small sizes, MEMPROF_RATE=1, each
with its own numbers), all started together: the root listing shows every one, and each
one's heap, allocs and memstats are exact."""

import os
import subprocess

import harness
from faultlib import LEAK, MiB, check_clean, check_leak, finish, leak_spec, read_all

N = 200

specs = [leak_spec(big_mib=1, big_obj=MiB >> (i % 5), small_count=1 + i % 50,
                   churn=100 + i) for i in range(N)]
with harness.Mount() as m:
    procs = [harness.spawn([LEAK] + s["args"], shim=True, rate=1, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True) for s in specs]
    pids = [int(harness.wait_for_line(p, "ready").split()[1]) for p in procs]
    harness.check(pids == [p.pid for p in procs], "pids differ from the spawned ones")

    listed = set(os.listdir(m.dir))
    missing = [pid for pid in pids if str(pid) not in listed]
    harness.check(not missing, "%d of %d not listed: %r" % (len(missing), N, missing[:10]))
    for pid, spec in zip(pids, specs):
        harness.check(sorted(os.listdir(m.path(pid))) ==
                      ["allocs", "heap", "heap.txt", "memstats", "threads", "threads.txt"],
                      "pid %d lists %r" % (pid, os.listdir(m.path(pid))))
        check_leak(read_all(m.path(pid, "heap")), spec, "pid %d heap" % pid)
        check_leak(read_all(m.path(pid, "allocs")), spec, "pid %d allocs" % pid)
        ms = harness.memstats(read_all(m.path(pid, "memstats")).decode())
        harness.check(ms["LostSamples"] == 0 and ms["SampleRate"] == 1 and
                      ms["Mallocs"] >= spec["big_objects"] + spec["small_objects"] + spec["churn"]
                      and ms["HeapAlloc"] >= spec["big_bytes"] + 1000 * spec["small_objects"],
                      "pid %d memstats %r" % (pid, ms))
    harness.check(m.proc.poll() is None, "the daemon died")
    for p in procs:
        finish(p)
    print("%d processes, each exact" % N)
check_clean(m)
print("ok")
