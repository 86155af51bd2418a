"""The daemon SIGKILLed and restarted under load, several times: readers loop on heap,
allocs, heap.txt, memstats and threads.txt of several profiled processes throughout.
Every read that succeeds is whole and exact; reads that meet the dead mount fail with
ENOTCONN (ECONNABORTED if in flight when it died; ENOENT in the instant between the new
daemon's lazy unmount of the dead mount and its own mount, when the path falls through
to the empty directory below), never hang; after every restart every profile is what it
was and no process is left stopped or traced by the dead daemon; no mount is left at the
end."""

import os
import shutil
import signal
import tempfile
import time

import harness
from faultlib import (check_clean, check_leak, finish, leak_spec, mounts_on, read_all,
                      reader_summary, sha, shim_stats, start_leak, start_reader)

RESTARTS = 5
READERS = 4

def proc_state(pid):
    with open("/proc/%d/status" % pid) as f:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in f)
                if k in ("State", "TracerPid")}


specs = [leak_spec(big_mib=i + 1, big_obj=64 * 1024 * (i + 1), small_count=10 * (i + 1),
                   churn=100 + i) for i in range(4)]
procs = [start_leak(s) for s in specs]
tmp = tempfile.mkdtemp()
m = harness.Mount()
try:
    m.start()

    def snapshot():
        """Every file that must survive a restart unchanged, checked against the truth."""
        out = {}
        for (p, pid), spec in zip(procs, specs):
            heap, allocs = read_all(m.path(pid, "heap")), read_all(m.path(pid, "allocs"))
            check_leak(heap, spec, "pid %d heap" % pid)
            check_leak(allocs, spec, "pid %d allocs" % pid)
            out[pid] = {"heap.txt": read_all(m.path(pid, "heap.txt")),
                        "memstats": shim_stats(read_all(m.path(pid, "memstats")).decode())}
        return out

    before = snapshot()
    files = []
    for (p, pid), spec in zip(procs, specs):
        files += [[m.path(pid, "heap"), "leak", spec], [m.path(pid, "allocs"), "leak", spec],
                  [m.path(pid, "heap.txt"), "sha", sha(before[pid]["heap.txt"])],
                  [m.path(pid, "memstats"), "memstats", before[pid]["memstats"]],
                  [m.path(pid, "threads.txt"), "threads.txt", "main"]]
    stop = tmp + "/stop"
    plan = {"threads": 2, "rounds": 0, "stop_file": stop, "files": files, "root": m.dir,
            "under_dev": os.stat(os.path.dirname(m.dir)).st_dev}
    readers = [start_reader(plan, tmp, "reader%d" % i) for i in range(READERS)]

    for i in range(RESTARTS):
        time.sleep(0.5)  # readers at work on a live mount
        dead = m.proc.pid
        rc = m.stop(sig=signal.SIGKILL)
        harness.check(rc == -signal.SIGKILL, "memprofd exit %r" % rc)
        harness.check(harness.is_mounted(m.dir), "no dead mount after SIGKILL")
        time.sleep(0.3)  # readers meet the dead mount
        m.start()
        after = snapshot()
        for pid in before:
            harness.check(after[pid]["heap.txt"] == before[pid]["heap.txt"],
                          "restart %d: pid %d heap.txt changed" % (i, pid))
            harness.check(after[pid]["memstats"] == before[pid]["memstats"],
                          "restart %d: pid %d memstats %r, was %r" %
                          (i, pid, after[pid]["memstats"], before[pid]["memstats"]))
        for pid in before:
            # a daemon killed while it held a process stopped for threads.txt must not
            # leave it stopped or traced (the new daemon may be collecting it right now)
            for _ in range(100):  # a detach in progress passes; a stuck stop stays
                st = proc_state(pid)
                tracer = int(st["TracerPid"])  # the tracing thread's id
                if (tracer == 0 and st["State"][0] in "RSD") or (
                        tracer and os.path.exists("/proc/%d/task/%d" % (m.proc.pid, tracer))):
                    break
                time.sleep(0.02)
            else:
                harness.fail("restart %d: pid %d %r; the killed daemon was %d" %
                             (i, pid, st, dead))
        harness.check(len(mounts_on(m.dir)) == 1, "restart %d: %d mounts on %s" %
                      (i, len(mounts_on(m.dir)), m.dir))
    time.sleep(0.5)
    open(stop, "w").close()
    total = {"ok": 0, "errors": {}, "nbad": 0}
    for r in readers:
        s = reader_summary(r, timeout=60)
        harness.check(not s["bad"], "wrong content read: %r" % s["bad"])
        total["ok"] += s["ok"]
        for k, v in s["errors"].items():
            total["errors"][k] = total["errors"].get(k, 0) + v
    print("reads: %d whole and exact, errors %r" % (total["ok"], total["errors"]))
    harness.check(total["ok"] >= RESTARTS * READERS, "only %d good reads" % total["ok"])
    harness.check(total["errors"].get("ENOTCONN", 0) > 0, "no reader met the dead mount")
    # ECONNABORTED: the kernel's answer to a request in flight when the daemon died
    other = {k: v for k, v in total["errors"].items()
             if k not in ("ENOTCONN", "ECONNABORTED", "ENOENT")}
    harness.check(not other, "errors other than the dead mount's: %r" % other)
    for p, pid in procs:
        finish(p)
    m.close()
    check_clean(m)
finally:
    m.close()
    shutil.rmtree(tmp, ignore_errors=True)
print("ok")
