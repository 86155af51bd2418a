"""The daemon is stopped while files and directories are open on it.  The kernel never
sends their RELEASE, so memprofd itself frees what they hold: it exits 0 (under ASan,
LeakSanitizer checks it at that exit), nothing stays mounted, and the descriptors left
open fail with ENOTCONN instead of hanging."""

import errno
import os

import harness
from faultlib import check_clean, expect_errno, finish, leak_spec, start_leak

with harness.Mount() as m:
    spec = leak_spec(big_mib=2, small_count=10, churn=100)
    p, pid = start_leak(spec)
    read_part = os.open(m.path(pid, "heap.txt"), os.O_RDONLY)
    harness.check(os.read(read_part, 100).startswith(b"# memprof heap profile"),
                  "heap.txt does not start as it should")
    unread = os.open(m.path(pid, "heap"), os.O_RDONLY)
    root = os.scandir(m.dir)  # the root listing, read in part
    harness.check(next(root).name.isdigit(), "the root lists a non-PID first")
    piddir = os.open(m.path(pid), os.O_RDONLY | os.O_DIRECTORY)

    rc = m.stop()
    harness.check(rc == 0, "memprofd exited with %r with files open; its log:\n%s"
                  % (rc, m.logtext()[-20000:]))
    for fd in (read_part, unread):
        expect_errno(errno.ENOTCONN, os.read, fd, 100)
    expect_errno(errno.ENOTCONN, os.listdir, piddir)
    for fd in (read_part, unread, piddir):
        try:
            os.close(fd)  # the descriptor is closed, whatever the kernel's flush said
        except OSError as e:
            harness.check(e.errno == errno.ENOTCONN, "close: %s" % e)
    root.close()
    finish(p)
check_clean(m)
print("ok")
