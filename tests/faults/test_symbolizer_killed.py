"""The symbolizer helper dying or hanging mid-read costs that read EIO, nothing more.

A helper stopped with SIGSTOP while a read waits on it and then killed with SIGKILL:
that read fails with EIO at once and the next read of the same file works, with its
names.  A helper that only hangs (stopped, never killed): the read fails with EIO when
its deadline passes (10 s), the file it hung on is not given to a helper again while
cached (its frames stay addresses), and a new helper answers the next read.  The
daemon serves throughout and stops cleanly on SIGTERM."""

import errno
import os
import re
import signal
import subprocess
import threading
import time

import harness


def helpers(m):
    out = subprocess.run(["pgrep", "-P", str(m.proc.pid), "-f", "memprof-symbolizer"],
                         capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def read_async(m, pid, name):
    box = {}

    def run():
        t0 = time.monotonic()
        try:
            box["data"] = m.read(pid, name)
        except OSError as e:
            box["error"] = e.errno
        box["secs"] = time.monotonic() - t0

    t = threading.Thread(target=run)
    t.start()
    return t, box


def stopped_read(m, target, kill_after):
    """Reads threads.txt of target while every helper is stopped."""
    hs = helpers(m)
    harness.check(hs, "no symbolizer helper is running")
    for h in hs:
        os.kill(h, signal.SIGSTOP)
    t, box = read_async(m, target.pid, "threads.txt")
    if kill_after is not None:
        time.sleep(kill_after)
        for h in hs:
            os.kill(h, signal.SIGKILL)
    t.join(60)
    harness.check(not t.is_alive(), "the read never returned")
    return box


with harness.Mount() as m:
    # a first read starts a helper and caches libc
    warm = harness.spawn(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    time.sleep(0.2)
    harness.check(b"TID" in m.read(warm.pid, "threads.txt"), "first read")

    # killed mid-read: EIO for that read, names on the next
    a = harness.spawn(["sleep", "1000"])
    time.sleep(0.2)
    box = stopped_read(m, a, kill_after=1.0)
    harness.check(box.get("error") == errno.EIO, "read during the kill: %r" % box)
    text = m.read(a.pid, "threads.txt").decode()
    harness.check("nanosleep" in text, "the next read lacks names:\n" + text)

    # hung: EIO after the deadline, then a new helper answers
    b = harness.spawn(["tail", "-f", "/dev/null"])
    time.sleep(0.2)
    box = stopped_read(m, b, kill_after=None)
    harness.check(box.get("error") == errno.EIO, "read of a hung helper: %r" % box)
    harness.check(box["secs"] < 30, "the hung helper held the read %.1f s" % box["secs"])
    # the hung file is not fed to a helper again while cached: its frames are addresses
    text = m.read(b.pid, "threads.txt").decode()
    harness.check("nanosleep" in text, "the next read failed:\n" + text)
    # a binary not seen before needs a helper: a new one answers
    c = harness.spawn(["python3", "-c", "import time; print('ready', flush=True); "
                       "time.sleep(1000)"], stdout=subprocess.PIPE, text=True)
    harness.wait_for_line(c, "ready")
    text = m.read(c.pid, "threads.txt").decode()
    harness.check(re.search(r"^#\d+ +0x[0-9a-f]+  [A-Za-z_]", text, re.M),
                  "a read after the hang has no names:\n" + text)
    harness.check(helpers(m), "no helper was started again")
    harness.check(os.listdir(m.dir), "root's ls of the mount")
    harness.check("symbolizer" in m.logtext(), "no log line for the failed reads:\n"
                  + m.logtext()[-2000:])
print("a killed or hung helper costs one read: ok")
