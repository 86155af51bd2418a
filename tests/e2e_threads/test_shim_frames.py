"""No frame of the shim in a thread dump: a program that waits in syscall() under the
shim (tests/threads/syscall_waiter.c) shows its own function calling syscall, and no
frame of libmemprof.so, in threads.txt and in the threads profile."""

import os
import subprocess
import time

import pprof
from harness import BUILD, Mount, check, skip, spawn, wait_for_line

WAITER = os.path.join(BUILD, "tests", "threads", "syscall-waiter")


def asleep_in_futex(pid):
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                if f.read().split()[0] == "202":  # futex on x86-64
                    with open("/proc/%d/task/%s/comm" % (pid, tid)) as c:
                        if c.read().strip() == "syscall-waiter":
                            return int(tid)
        except (OSError, IndexError):
            pass
    return None


def main():
    if not os.path.exists(WAITER):
        skip("tests/threads/syscall-waiter is not built")
    p = spawn([WAITER], shim=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    wait_for_line(p, "ready")
    deadline = time.time() + 20
    while asleep_in_futex(p.pid) is None:
        check(time.time() < deadline, "the waiter never slept in futex")
        time.sleep(0.02)
    with open("/proc/%d/maps" % p.pid) as f:
        check("libmemprof.so" in f.read(), "the shim is not loaded in the waiter")
    with Mount() as m:
        text = m.read(p.pid, "threads.txt").decode()
        check("libmemprof" not in text and "collectors/shim" not in text,
              "a shim frame in threads.txt:\n" + text)
        check("wait_in_syscall" in text, "the caller of syscall() missing:\n" + text)
        prof = pprof.Profile(m.read(p.pid, "threads"))
        for mp in prof.mappings.values():
            for loc in prof.locations.values():
                if loc["mapping"] and prof.mappings.get(loc["mapping"]) is mp:
                    check("libmemprof" not in mp["filename"],
                          "a location in the shim: %r" % (loc,))
    p.stdin.close()
    p.wait(10)
    print("ok")


if __name__ == "__main__":
    main()
