"""Readers SIGKILLed mid-read, 200 times, of a 2 MB heap.txt (4096 sites): a python reader
stopped after its first chunk, `dd bs=1` after a few KB, `cat` blocked on a full pipe,
and shell loops of `cat` killed at random points (in open, read or release).  The daemon
keeps serving, the next reads are exact, and nothing leaks: the daemon's descriptors are
back to what they were, its live heap objects (the daemon itself runs under the shim,
so its memstats counts them exactly) and its RSS do not grow with the kills."""

import os
import signal
import subprocess
import sys
import threading
import time

import harness
from faultlib import SITES, check_clean, daemon_fds, daemon_rss, finish, read_all

KILLS = 200
WARMUP = 20

PY_READER = ("import sys\n"
             "f = open(sys.argv[1], 'rb', buffering=0)\n"
             "sys.stdout.write('%d\\n' % len(f.read(65536)))\n"
             "sys.stdout.flush()\n"
             "sys.stdin.read()\n")


def file_pos(pid, path):
    """The offset of pid's open file `path`, or -1 while it has none."""
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == path:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    return int(f.readline().split()[1])
    except OSError:
        pass
    return -1


def wait_pos(p, path, at_least, what):
    deadline = time.time() + 30
    while file_pos(p.pid, path) < at_least:
        harness.check(p.poll() is None, "%s exited (%r) before reading %d bytes" %
                      (what, p.returncode, at_least))
        harness.check(time.time() < deadline, "%s read only %d bytes" %
                      (what, file_pos(p.pid, path)))
        time.sleep(0.001)


def kill(p):
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    harness.check(p.returncode == -signal.SIGKILL, "reader ended with %r, not by the kill" %
                  p.returncode)


def one_kill(i, path, size, env):
    kind = i % 4
    kw = dict(env=env, start_new_session=True)
    if kind == 0:  # python: stopped after its first 64 KiB
        p = harness.spawn([sys.executable, "-c", PY_READER, path], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, **kw)
        got = p.stdout.readline()
        harness.check(got == "65536\n", "python reader read %r" % got)
    elif kind == 1:  # dd, one byte per FUSE read
        p = harness.spawn(["dd", "if=" + path, "of=/dev/null", "bs=1", "status=none"], **kw)
        wait_pos(p, path, 100 + 13 * i, "dd")
    elif kind == 2:  # cat writing into a pipe nobody reads: blocked with the file open
        p = harness.spawn(["cat", path], stdout=subprocess.PIPE, **kw)
        wait_pos(p, path, 1, "cat")
    else:  # loops of whole reads, killed wherever they are
        p = harness.spawn(["sh", "-c", 'while :; do cat "$1" >/dev/null; done', "sh", path],
                          **kw)
        time.sleep(0.002 * (i % 13))
    harness.check(p.poll() is None, "reader %d finished before the kill" % i)
    kill(p)
    if p.stdout:
        p.stdout.close()
    if p.stdin:
        p.stdin.close()


def heap_objects(m):
    if SANITIZED:
        return 0
    return harness.memstats(read_all(m.path(m.proc.pid, "memstats")).decode())["HeapObjects"]


env = dict(os.environ)
env.pop("LD_PRELOAD", None)
# The daemon under the shim (MEMPROF_RATE=0: exact counts, no sampling cost) - except in
# a sanitizer build, whose runtime must come first and cannot share the process with a
# preloaded allocator: there the descriptor and RSS checks stand alone.
SANITIZED = b"libasan" in subprocess.run(["ldd", harness.DAEMON], capture_output=True).stdout
if SANITIZED:
    print("note: ASan build: the daemon runs without the shim, heap objects not counted")
daemon_env = {} if SANITIZED else {"LD_PRELOAD": harness.SHIM, "MEMPROF_RATE": "0"}
with harness.Mount(env=daemon_env) as m:
    p = harness.spawn([SITES, "--levels", "6"], shim=True, rate=1, stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)
    harness.wait_for_line(p, "ready")
    path = m.path(p.pid, "heap.txt")
    want = read_all(path)
    harness.check(len(want) > 1 << 20 and want.count(b"\n    step") > 4096 * 6,
                  "heap.txt of %d bytes" % len(want))

    def settle():
        """Lets the kernel's RELEASEs arrive, the unopened snapshots of interrupted lookups
        age out of the cache (1 s) and closed files' snapshots pass their grace period
        (2 s, dropped at the next close), then checks a whole read."""
        time.sleep(2.5)
        read_all(path)  # its close drops the snapshots past their grace period
        time.sleep(2.5)
        harness.check(read_all(path) == want, "heap.txt changed")

    for i in range(WARMUP):
        one_kill(i, path, len(want), env)
    # and enough readers at once that libfuse starts all its worker threads
    burst = [threading.Thread(target=read_all, args=(path,)) for _ in range(16)]
    for t in burst:
        t.start()
    for t in burst:
        t.join()
    settle()
    fds0, rss0, objs0 = daemon_fds(m), daemon_rss(m), heap_objects(m)
    for i in range(WARMUP, KILLS):
        one_kill(i, path, len(want), env)
        if i % 50 == 0:
            harness.check(read_all(path) == want, "heap.txt wrong after %d kills" % i)
    settle()
    fds1, rss1, objs1 = daemon_fds(m), daemon_rss(m), heap_objects(m)
    print("daemon after %d and %d kills: fds %d -> %d, RSS %d -> %d KiB, heap objects "
          "%d -> %d" % (WARMUP, KILLS, fds0, fds1, rss0 >> 10, rss1 >> 10, objs0, objs1))
    harness.check(m.proc.poll() is None, "the daemon died")
    harness.check(fds1 == fds0, "daemon descriptors %d -> %d" % (fds0, fds1))
    # one leaked snapshot is 2 objects and 2 MB: 180 kills would show as 360 and 360 MB
    harness.check(objs1 - objs0 < 100, "daemon heap objects %d -> %d" % (objs0, objs1))
    # (ASan keeps freed memory in its quarantine: RSS says nothing about leaks there)
    harness.check(SANITIZED or rss1 - rss0 < 10 * len(want),
                  "daemon RSS %d -> %d" % (rss0, rss1))
    finish(p)
check_clean(m)
print("ok")
