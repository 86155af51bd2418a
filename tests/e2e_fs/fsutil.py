"""Helpers shared by the filesystem end-to-end tests: /proc ground truth and errno checks."""

import errno
import os
import time

from harness import check, fail, spawn

KERNEL_SIZES = ["VmRSS", "VmHWM", "VmSize", "RssAnon", "RssFile", "RssShmem", "VmSwap"]


def proc_status(pid):
    """The kernel's own figures for pid, sizes converted to bytes."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields = value.split()
            if key in KERNEL_SIZES:
                out[key] = int(fields[0]) * 1024
            elif key == "Threads":
                out[key] = int(fields[0])
    return out


def has_mm(pid):
    """True for a live process with memory (not a kernel thread, not a zombie)."""
    try:
        # errors="replace": any process on the host may name itself in bytes that are
        # not UTF-8 (tests/e2e_prom does)
        with open("/proc/%d/status" % pid, errors="replace") as f:
            return any(line.startswith("VmSize:") for line in f)
    except OSError:
        return False


def is_kernel_thread(pid):
    """PF_KTHREAD in the flags field (9) of /proc/PID/stat."""
    try:
        with open("/proc/%d/stat" % pid, errors="replace") as f:
            flags = int(f.read().rpartition(")")[2].split()[6])
    except (OSError, IndexError, ValueError):
        return False
    return bool(flags & 0x00200000)


def proc_pids():
    return {int(n) for n in os.listdir("/proc") if n.isdigit()}


def expect_errno(err, func, *args, **kw):
    """Calls func(*args, **kw) and checks it fails with OSError err."""
    try:
        func(*args, **kw)
    except OSError as e:
        check(e.errno == err, "%s%r: expected %s, got %s" % (
            func.__name__, args, errno.errorcode[err], errno.errorcode.get(e.errno, e.errno)))
        return
    fail("%s%r: expected %s, but it succeeded" % (func.__name__, args, errno.errorcode[err]))


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def pid_above_max():
    with open("/proc/sys/kernel/pid_max") as f:
        return int(f.read()) + 1


def _state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rpartition(")")[2].split()[0]


def spawn_idle(argv=("sleep", "1000"), **kw):
    """Starts a program and waits until it sleeps with its memory settled (the dynamic
    loader done), so that its figures hold still while a test compares them."""
    p = spawn(list(argv), **kw)
    deadline = time.time() + 30
    last = None
    while time.time() < deadline:
        now = proc_status(p.pid) if _state(p.pid) == "S" else None
        if now is not None and now == last:
            return p
        last = now
        time.sleep(0.05)
    fail("process %d never settled" % p.pid)
