"""Memory held for open files is bounded (issue 12, finding 9).  An unprivileged user
opens its own 73 MB heap.txt (a forged segment of 50,000 distinct stacks) again and
again and holds every descriptor: as many opens succeed as fit in one uid's share
(min(1 GiB, RAM/4) / 4), the rest fail with ENOMEM and a log line, the daemon's RSS
grows by no more than that share, root still reads the same file meanwhile, and once
the user closes everything the memory is given back (RSS falls back, and the same
number of opens succeeds again).  A heap.txt past 512 MiB is EFBIG, not built."""

import errno
import os
import shutil
import subprocess
import tempfile
import time

import harness
from faultlib import daemon_rss

MiB = 1 << 20
FORGE = os.path.join(harness.BUILD, "tests", "security", "forge")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
SYSTEM_PYTHON = "/usr/bin/python3"  # nobody cannot reach a python under /root
SANITIZED = b"libasan" in subprocess.run(["ldd", harness.DAEMON], capture_output=True).stdout
SLACK = 48 * MiB  # the daemon's own working memory beside the snapshots

# opens PATH N times and holds what it got; "ok" or the errno's name per open
HOLDER = r"""
import errno, os, sys
path, n = sys.argv[1], int(sys.argv[2])
fds = []
for i in range(n):
    try:
        fd = os.open(path, os.O_RDONLY)
        os.read(fd, 1)
        fds.append(fd)
        print("ok", flush=True)
    except OSError as e:
        print(errno.errorcode[e.errno], flush=True)
print("held", flush=True)
sys.stdin.read()
for fd in fds:
    os.close(fd)
print("closed", flush=True)
"""


def limits():
    with open("/proc/meminfo") as f:
        total_ram = int(f.readline().split()[1]) * 1024  # MemTotal
    total = min(1 << 30, total_ram // 4)
    return total, total // 4


def hold(m, pid, n):
    """nobody opens pid's heap.txt n times; returns (Popen, results)."""
    p = harness.spawn(NOBODY + [SYSTEM_PYTHON, "-c", HOLDER, m.path(pid, "heap.txt"),
                                str(n)],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    results = []
    while True:
        line = p.stdout.readline().strip()
        harness.check(line, "the holder died: %r" % results)
        if line == "held":
            return p, results
        results.append(line)


def release(p):
    p.stdin.close()
    harness.wait_for_line(p, "closed")
    p.wait(30)


def rss_settles_below(m, limit, timeout=30):
    """RELEASE reaches the daemon after close() returns: wait for it to be handled."""
    deadline = time.time() + timeout
    while daemon_rss(m) > limit and time.time() < deadline:
        time.sleep(0.1)
    return daemon_rss(m)


if not os.path.exists(SYSTEM_PYTHON):
    harness.skip("%s is missing: the unprivileged holder needs a python it can run"
                 % SYSTEM_PYTHON)
tmp = tempfile.mkdtemp()
os.chmod(tmp, 0o755)
forge = shutil.copy(FORGE, tmp)
total, per_uid = limits()
m = harness.Mount()
os.chmod(m.dir, 0o755)
with m.start():
    forger = harness.spawn(NOBODY + [forge, "--stacks", "50000", "valid"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = int(harness.wait_for_line(forger, "ready").split()[1])
    # root reads it once, which also warms the daemon up; with the file still open,
    # its snapshot is resident, and its release gives the bytes back
    with open(m.path(pid, "heap.txt"), "rb") as f:
        size = len(f.read())
        rss_open = daemon_rss(m)
    harness.check(60 * MiB < size < 90 * MiB, "heap.txt of %d bytes" % size)
    fit = per_uid // size
    harness.check(fit >= 1, "one uid's share (%d) holds no heap.txt of %d" % (per_uid, size))
    rss0 = daemon_rss(m) if SANITIZED else rss_settles_below(m, rss_open - size // 2)
    harness.check(SANITIZED or rss0 <= rss_open - size // 2,
                  "root's closed heap.txt still held: RSS %d -> %d" % (rss_open, rss0))

    holder, got = hold(m, pid, fit + 3)
    harness.check(got == ["ok"] * fit + ["ENOMEM"] * 3,
                  "opens of a %d-byte file with a share of %d: %r" % (size, per_uid, got))
    harness.check("bound on memory held for open files" in m.logtext(),
                  "no log line for the refused opens:\n" + m.logtext()[-2000:])
    rss_held = daemon_rss(m)
    print("daemon RSS %d MiB, %d MiB while %d opens hold %d MiB (share %d MiB)"
          % (rss0 >> 20, rss_held >> 20, fit, fit * size >> 20, per_uid >> 20))
    if not SANITIZED:  # ASan's allocator keeps freed memory: its RSS says nothing here
        harness.check(rss_held - rss0 <= per_uid + SLACK,
                      "the daemon grew by %d bytes, beyond the share" % (rss_held - rss0))
        harness.check(rss_held - rss0 >= fit * size - SLACK,
                      "the held snapshots are not resident? %d -> %d" % (rss0, rss_held))
    # root's reads still work meanwhile
    harness.check(len(m.read(pid, "heap.txt")) == size, "root's read of heap.txt")

    release(holder)
    if not SANITIZED:
        rss1 = rss_settles_below(m, rss0 + SLACK)
        harness.check(rss1 <= rss0 + SLACK, "after closing, daemon RSS %d MiB (was %d MiB)"
                      % (rss1 >> 20, rss0 >> 20))
    # the share is free again: every charge was given back at release
    deadline = time.time() + 30
    while True:
        holder, got = hold(m, pid, fit)
        release(holder)
        if got == ["ok"] * fit or time.time() > deadline:
            break
        time.sleep(0.2)  # a RELEASE still on its way
    harness.check(got == ["ok"] * fit, "after closing, opens give %r" % got)

    # one file past the bound on a generated file
    big = harness.spawn(NOBODY + [forge, "--stacks", "400000", "valid"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    bpid = int(harness.wait_for_line(big, "ready").split()[1])
    try:
        m.read(bpid, "heap.txt")
        harness.fail("a heap.txt past 512 MiB was built")
    except OSError as e:
        harness.check(e.errno == errno.EFBIG, "the huge heap.txt gave %s" % e)
    harness.check(len(m.read(bpid, "heap")) > 0, "the huge segment's heap")
    big.communicate("")
    forger.communicate("")
    harness.check(m.proc.poll() is None, "the daemon died")
shutil.rmtree(tmp, ignore_errors=True)
print("ok")
