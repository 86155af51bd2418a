"""Untrusted segments: every corruption of a process's segment gives EIO for its heap
files (with a log line), never a crash or hang of the daemon, and memstats keeps its
kernel figures.  A well-formed hand-made segment is read with exactly its numbers."""

import errno
import os
import subprocess

import harness
import pprof

FORGE = os.path.join(harness.BUILD, "tests", "security", "forge")
CORRUPTIONS = ["bad-magic", "bad-version", "short-header", "size-lie", "count-over-cap",
               "huge-caps", "offset-outside", "offset-wrap", "offset-in-header",
               "deep-stack", "zero-depth", "frames-outside", "stack-index", "slots-over"]


def start(mode):
    p = harness.spawn([FORGE, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      text=True)
    return p, int(harness.wait_for_line(p, "ready").split()[1])


with harness.Mount() as m:
    p, pid = start("valid")
    h = pprof.Profile(m.read(pid, "heap"))
    harness.check(len(h.samples) == 1, "valid forged segment: %d samples" % len(h.samples))
    vals = h.samples[0]["values"]
    harness.check(vals == [5, 5 * 4096, 3, 3 * 4096], "values %r" % vals)
    ms = harness.memstats(m.read(pid, "memstats").decode())
    harness.check(ms.get("Mallocs") == 10 and ms.get("Frees") == 4, "memstats %r" % ms)
    p.communicate("")

    for mode in CORRUPTIONS:
        p, pid = start(mode)
        for name in ("heap", "allocs", "heap.txt"):
            try:
                m.read(pid, name)
                harness.fail("%s: reading %s succeeded on a corrupt segment" % (mode, name))
            except OSError as e:
                harness.check(e.errno in (errno.EIO, errno.ENOENT),
                              "%s: %s gave %s, want EIO" % (mode, name, e))
                if name == "heap" and mode not in ("bad-magic", "bad-version"):
                    harness.check(e.errno == errno.EIO, "%s: heap gave %s" % (mode, e))
        ms = harness.memstats(m.read(pid, "memstats").decode())
        harness.check(ms.get("VmRSS", 0) > 0, "%s: memstats lost its kernel figures" % mode)
        harness.check(m.proc.poll() is None, "%s: the daemon died" % mode)
        p.communicate("")
    harness.check("corrupt" in m.logtext().lower(), "no log line names the corruption:\n"
                  + m.logtext()[-2000:])
print("ok")
