"""The daemon's life: clean unmount on SIGTERM and SIGINT, recovery from a stale mount."""

import os
import signal
import subprocess
import time

from harness import Mount, spawn, check, fail, is_mounted, memstats, DAEMON
from fsutil import read_file


def mount_ids(path):
    """Mount ids of everything mounted on path, bottom first."""
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return [line.split()[0] for line in f if line.split()[4] == path]


def wait_for_new_mount(m, timeout=20):
    """Mount.start() returns at once while the dead mount is still listed: wait until the
    new daemon has replaced it (or has exited)."""
    deadline = time.time() + timeout
    while True:
        if mount_ids(m.dir):
            try:
                os.stat(m.dir)
                return
            except OSError:
                pass
        if m.proc.poll() is not None:
            fail("memprofd exited with %d: %s" % (m.proc.returncode, m.logtext()))
        if time.time() > deadline:
            fail("the stale mount was not replaced: " + m.logtext())
        time.sleep(0.02)


def works(m):
    p = spawn(["sleep", "1000"])
    try:
        return memstats(read_file(m.path(p.pid, "memstats")).decode())["VmSize"] > 0
    finally:
        p.kill()
        p.wait()


def check_clean_stop(sig):
    m = Mount().start()
    try:
        check(works(m), "mount does not work")
        rc = m.stop(sig)
        check(rc == 0, "memprofd exited %r on %s: %s" % (rc, sig.name, m.logtext()))
        check(not is_mounted(m.dir), "still mounted after %s" % sig.name)
    finally:
        m.close()


def check_stale_mount():
    m = Mount().start()
    try:
        m.stop(signal.SIGKILL)
        check(is_mounted(m.dir), "SIGKILL should leave the mount behind")
        try:
            os.stat(m.dir)
            enotconn = False
        except OSError as e:
            enotconn = e.errno == 107
        check(enotconn, "a killed daemon's mount should be dead (ENOTCONN)")
        m.start()  # same directory: must clear the dead mount and mount again
        wait_for_new_mount(m)
        check(works(m), "remounted filesystem does not work")
        check("dead FUSE mount" in m.logtext(), "no message about the stale mount: " +
              m.logtext())
        # exactly one mount left on the directory
        n = len(mount_ids(m.dir))
        check(n == 1, "%d mounts on %s" % (n, m.dir))
        check(m.stop() == 0, "clean stop after remount")
        check(not is_mounted(m.dir), "mount left behind")
    finally:
        m.close()


def check_usage():
    r = subprocess.run([DAEMON], capture_output=True, text=True)
    check(r.returncode != 0 and "MOUNTPOINT" in r.stderr + r.stdout, "no usage without args")
    r = subprocess.run([DAEMON, "--help"], capture_output=True, text=True)
    check(r.returncode == 0 and "MOUNTPOINT" in r.stdout, "--help")
    r = subprocess.run([DAEMON, "--version"], capture_output=True, text=True)
    check(r.returncode == 0 and "memprofd" in r.stdout, "--version")


def main():
    check_usage()
    check_clean_stop(signal.SIGTERM)
    check_clean_stop(signal.SIGINT)
    check_stale_mount()
    print("ok")


if __name__ == "__main__":
    main()
