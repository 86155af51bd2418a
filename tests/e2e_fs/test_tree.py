"""The tree: root lists live processes like /proc, PID/ lists its files, the rest is ENOENT."""

import errno
import os

from harness import Mount, spawn, check
from fsutil import has_mm, is_kernel_thread, proc_pids, expect_errno, pid_above_max, read_file


def check_root_listing(m, sleeper):
    before = {p for p in proc_pids() if has_mm(p)}
    listed = set()
    for name in os.listdir(m.dir):
        if name == "metrics.prom":
            check(os.path.isfile(os.path.join(m.dir, name)), "metrics.prom is not a file")
            continue
        check(name.isdigit(), "root lists a non-PID entry %r" % name)
        listed.add(int(name))
    after = proc_pids()
    after_mm = {p for p in after if has_mm(p)}
    check(sleeper in listed, "the test's sleep is not listed")
    check(os.getpid() in listed, "the test's own pid is not listed")
    # processes alive before and after the listing must be in it...
    missing = (before & after_mm) - listed
    check(not missing, "live processes missing from the root: %r" % sorted(missing))
    # ...and everything listed was a real process (allowing for churn during the listing)
    ghosts = {p for p in listed - before - after if os.path.exists("/proc/%d" % p)}
    check(not ghosts, "root lists processes /proc does not: %r" % sorted(ghosts))
    # kernel threads have no memory and are left out
    kthreads = {p for p in after if is_kernel_thread(p)}
    check(not (kthreads & listed), "kernel threads listed: %r" % sorted(kthreads & listed))


def check_pid_dir(m, pid):
    names = sorted(os.listdir(m.path(pid)))
    check(names == ["memstats", "threads", "threads.txt"],
          "a process without the shim lists %r" % names)
    st = os.stat(m.path(pid))
    pst = os.stat("/proc/%d" % pid)
    check(st.st_mode & 0o7777 == 0o555, "PID dir mode %o" % st.st_mode)
    check((st.st_uid, st.st_gid) == (pst.st_uid, pst.st_gid), "PID dir owner differs from /proc")
    fst = os.stat(m.path(pid, "memstats"))
    check((fst.st_uid, fst.st_gid) == (pst.st_uid, pst.st_gid), "file owner differs")
    check(os.stat(m.dir).st_mode & 0o7777 == 0o555, "root mode")
    # no shim: heap files are absent, not empty and not an error
    for name in ("heap", "allocs", "heap.txt"):
        expect_errno(errno.ENOENT, os.stat, m.path(pid, name))
        expect_errno(errno.ENOENT, open, m.path(pid, name), "rb")
    for name in ("nosuchfile", "memstats.bak", ".", ".."):
        if name in (".", ".."):
            continue
        expect_errno(errno.ENOENT, os.stat, m.path(pid, name))
    # files are not directories and the tree is read-only
    expect_errno(errno.ENOTDIR, os.stat, os.path.join(m.path(pid, "memstats"), "x"))
    expect_errno(errno.EROFS, open, m.path(pid, "memstats"), "wb")
    expect_errno(errno.EROFS, open, m.path(pid, "newfile"), "wb")
    expect_errno(errno.EROFS, os.mkdir, m.path(pid, "d"))


def check_missing(m):
    big = pid_above_max()
    expect_errno(errno.ENOENT, os.stat, m.path(big))
    expect_errno(errno.ENOENT, open, m.path(big, "memstats"), "rb")
    for name in ("self", "0", "-1", "01", "1x", "99999999999999999999"):
        expect_errno(errno.ENOENT, os.stat, os.path.join(m.dir, name))
    # a process that has exited
    p = spawn(["true"])
    p.wait()
    expect_errno(errno.ENOENT, os.stat, m.path(p.pid))
    expect_errno(errno.ENOENT, read_file, m.path(p.pid, "memstats"))


def main():
    with Mount() as m:
        p = spawn(["sleep", "1000"])
        check_root_listing(m, p.pid)
        check_pid_dir(m, p.pid)
        check_missing(m)
        p.kill()
        p.wait()
    print("ok")


if __name__ == "__main__":
    main()
