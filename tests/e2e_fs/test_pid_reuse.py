"""A PID reused by a new process never serves the old one's inode or snapshot."""

import errno
import os

from harness import Mount, spawn, check, skip, memstats
from fsutil import expect_errno, read_file

NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"


def start_time(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rpartition(")")[2].split()[19])


def listed_ino(m, pid):
    for e in os.scandir(m.dir):
        if e.name == str(pid):
            return e.inode()
    return None


def spawn_with_pid(pid, old_start, tries=200):
    """Starts `sleep` with the given PID via ns_last_pid (root only); None if others race.
    Start times count clock ticks, so a process that got the PID back within the same
    tick is indistinguishable from the old one: the kernel's own /proc/PID/stat could not
    tell them apart either.  Such a one is replaced."""
    for _ in range(tries):
        with open(NS_LAST_PID, "w") as f:
            f.write(str(pid - 1))
        p = spawn(["sleep", "1000"])
        if p.pid == pid and start_time(pid) != old_start:
            return p
        p.kill()
        p.wait()
    return None


def main():
    if os.geteuid() != 0 or not os.access(NS_LAST_PID, os.W_OK):
        skip("needs root and a writable %s to force PID reuse" % NS_LAST_PID)
    with Mount() as m:
        old = spawn(["sleep", "1000"])
        pid = old.pid
        dirfd = os.open(m.path(pid), os.O_RDONLY | os.O_DIRECTORY)
        try:
            first = read_file(m.path(pid, "memstats"))
            check(len(first) > 0, "no memstats")
            old_start = start_time(pid)
            old_ino = os.fstat(dirfd).st_ino
            # the root listing remembers what it read about each process: it must
            # notice that the PID now belongs to someone else
            check(listed_ino(m, pid) == old_ino, "listing and stat disagree on the inode")
            old.kill()
            old.wait()
            new = spawn_with_pid(pid, old_start)
            if new is None:
                skip("could not get PID %d back (a busy machine took it)" % pid)
            # the directory opened for the old process refers to the old process only
            expect_errno(errno.ENOENT, os.open, "memstats", os.O_RDONLY, dir_fd=dirfd)
            expect_errno(errno.ENOENT, os.stat, "memstats", dir_fd=dirfd)
            # a fresh path walk finds the new process
            fresh = memstats(read_file(m.path(pid, "memstats")).decode())
            check(fresh["VmSize"] > 0, "new process's memstats")
            new_ino = os.stat(m.path(pid)).st_ino
            check(new_ino != old_ino, "the reused PID got the old inode")
            check(listed_ino(m, pid) == new_ino, "the listing kept the old process's inode")
            expect_errno(errno.ENOENT, os.fstat, dirfd)
            new.kill()
            new.wait()
        finally:
            os.close(dirfd)
    print("ok")


if __name__ == "__main__":
    main()
