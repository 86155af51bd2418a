"""The segment's file deleted under running programs.  The shim unlinks its file in
/dev/shm right after creating it, so a profiled process leaves no memprof.* file there
while its heap file works; and `rm -f /dev/shm/memprof.*` in a loop while programs start,
allocate and are read changes nothing: every profile is exact."""

import glob
import os
import subprocess

import harness
import pprof
from faultlib import (MiB, check_clean, check_leak, finish, leak_spec, read_all,
                      start_leak)

STARTS = 20


def shm_files(pid):
    return glob.glob("/dev/shm/memprof.%d.*" % pid)


def maps_segment(pid):
    with open("/proc/%d/maps" % pid) as f:
        return [line.split(None, 5)[5].strip() for line in f
                if len(line.split(None, 5)) == 6 and "/dev/shm/memprof." in line]


with harness.Mount() as m:
    spec = leak_spec(big_mib=2, big_obj=128 * 1024, small_count=33, churn=300)
    p, pid = start_leak(spec)
    harness.check(not shm_files(pid), "segment file left in /dev/shm: %r" % shm_files(pid))
    seg = maps_segment(pid)
    harness.check(len(seg) == 1 and seg[0].startswith("/dev/shm/memprof.%d." % pid) and
                  seg[0].endswith(" (deleted)"), "maps shows %r" % seg)
    check_leak(read_all(m.path(pid, "heap")), spec, "heap with the file unlinked")
    text_before = read_all(m.path(pid, "heap.txt"))

    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    rm = harness.spawn(["sh", "-c", "while :; do rm -fv /dev/shm/memprof.*; done"], env=env,
                       stdout=subprocess.PIPE, text=True)
    try:
        harness.check(read_all(m.path(pid, "heap.txt")) == text_before,
                      "heap.txt changed under rm")
        others = []
        for i in range(STARTS):
            s = leak_spec(big_mib=1, big_obj=MiB >> (i % 4), small_count=i + 1, churn=10 * i)
            others.append((start_leak(s), s))
        p.stdin.write("grow\n")
        p.stdin.flush()
        harness.wait_for_line(p, "grown")
        for (q, qpid), s in others:
            check_leak(read_all(m.path(qpid, "heap")), s, "pid %d started under rm" % qpid)
            check_leak(read_all(m.path(qpid, "allocs")), s, "pid %d allocs" % qpid)
            harness.check(not shm_files(qpid), "pid %d left a file" % qpid)
        h = pprof.Profile(read_all(m.path(pid, "heap")))
        grown = h.by_top_function("inuse_space").get("grow_site")
        harness.check(grown == 8 * MiB, "grow_site under rm: %r, want %d" % (grown, 8 * MiB))
        check_leak(read_all(m.path(pid, "heap")), spec, "heap after growing under rm")
    finally:
        rm.kill()
        removed = rm.communicate()[0].count("removed")
    # informational: how often the loop caught a file between creation and the unlink
    print("rm removed %d segment files in the instant before the shim's own unlink" % removed)
    for (q, qpid), s in others:
        finish(q)
    finish(p)
check_clean(m)
print("ok")
