"""/dev/shm full or unavailable when a program starts under the shim, each inside its own
mount namespace (`unshare -m`, private propagation: the host's /dev/shm is untouched),
with the daemon outside:
  full       a 4 KiB tmpfs over /dev/shm: no room for the segment's header and slots
  read-only  /dev/shm bind-remounted read-only: the segment cannot be created
  fills up   a 160 KiB tmpfs: room for the header and slots but not for the tables
In the first two the program runs unprofiled: same stdout and exit code as without the
shim, memstats says heap profiling is off, heap is ENOENT.  In the third it runs
profiled with exact counts, samples lost (for want of room) and counted as lost, still
with the same output; the heap file decodes and says so."""

import errno
import os
import shutil
import subprocess

import harness
import pprof
from faultlib import SITES, check_clean, expect_errno, mounts_on, read_all

ARGS = ["--levels", "4", "--keep-every", "3", "--threads", "2"]
SETUPS = {
    "full": "mount -t tmpfs -o size=4k,mode=1777 memprof-test /dev/shm",
    "read-only": "mount -o remount,bind,ro /dev/shm",
    "fills up": "mount -t tmpfs -o size=160k,mode=1777 memprof-test /dev/shm",
}

if shutil.which("unshare") is None:
    harness.skip("unshare (util-linux) is missing")
if os.geteuid() != 0:
    harness.skip("mount namespaces and mounts need root")


def run(setup, shim):
    """Starts sites, in a new mount namespace after `setup` if given; returns the Popen
    (same pid as the program: unshare, sh and env exec) once it printed its summary."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    inner = ["env"] + (["LD_PRELOAD=" + harness.SHIM, "MEMPROF_RATE=1"] if shim else []) + \
        [SITES] + ARGS
    if setup:
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-ec",
                setup + '; exec "$@"', "sh"] + inner
    else:
        argv = inner
    p = harness.spawn(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
    summary = p.stdout.readline()
    ready = p.stdout.readline()
    if ready != "ready\n":
        p.kill()
        harness.fail("%s: no ready line: %r %r %s" % (setup, summary, ready,
                                                     p.stderr.read()))
    harness.check(os.readlink("/proc/%d/exe" % p.pid) == os.path.realpath(SITES),
                  "pid %d is not sites" % p.pid)
    return p, summary + ready


def end(p, head):
    out, err = p.communicate("exit\n", timeout=60)
    return head + out, p.returncode, err


def host_shm_writable():
    path = "/dev/shm/memprof-faults-check.%d" % os.getpid()
    with open(path, "w") as f:
        f.write("x")
    os.unlink(path)


host_shm = mounts_on("/dev/shm")
with harness.Mount() as m:
    p, head = run(None, shim=False)
    want = end(p, head)
    harness.check(want[1] == 0 and want[0].startswith("paths 256 threads 2"), "plain run %r"
                  % (want,))
    p, head = run(None, shim=True)
    normal = harness.memstats(read_all(m.path(p.pid, "memstats")).decode())
    harness.check(normal["LostSamples"] == 0 and normal["Samples"] > 256,
                  "unconstrained run: %r" % normal)
    got = end(p, head)
    harness.check(got[:2] == want[:2], "shim changed the output: %r vs %r" % (got, want))

    for name, setup in SETUPS.items():
        p, head = run(setup, shim=True)
        pid = p.pid
        ms_text = read_all(m.path(pid, "memstats")).decode()
        ms = harness.memstats(ms_text)
        harness.check(ms.get("VmRSS", 0) > 0, "%s: memstats lacks the kernel figures" % name)
        if name == "fills up":
            harness.check(ms["LostSamples"] > 0,
                          "%s: samples %d lost %d" % (name, ms["Samples"], ms["LostSamples"]))
            for k in ("Mallocs", "Frees", "TotalAlloc"):
                harness.check(ms[k] == normal[k], "%s: %s %d, unconstrained %d" %
                              (name, k, ms[k], normal[k]))
            h = pprof.Profile(read_all(m.path(pid, "heap")))
            harness.check(any("%d samples lost" % ms["LostSamples"] in c for c in h.comments),
                          "%s: heap comments %r" % (name, h.comments))
            text = read_all(m.path(pid, "heap.txt")).decode()
            harness.check("# lost samples %d\n" % ms["LostSamples"] in text,
                          "%s: heap.txt head %r" % (name, text[:300]))
        else:
            harness.check("# heap profiling off" in ms_text and "Mallocs" not in ms,
                          "%s: memstats does not say profiling is off:\n%s" % (name, ms_text))
            for f in ("heap", "allocs", "heap.txt"):
                expect_errno(errno.ENOENT, open, m.path(pid, f), "rb")
            harness.check(sorted(os.listdir(m.path(pid))) ==
                          ["memstats", "threads", "threads.txt"],
                          "%s: listing %r" % (name, os.listdir(m.path(pid))))
        got = end(p, head)
        harness.check(got[:2] == want[:2], "%s: output %r, without the shim %r" %
                      (name, got, want))
        harness.check("memprof" not in got[2], "%s: stderr without MEMPROF_DEBUG: %r" %
                      (name, got[2]))
        host_shm_writable()
        harness.check(mounts_on("/dev/shm") == host_shm, "%s: the host's /dev/shm changed" %
                      name)

    # MEMPROF_DEBUG makes the shim say once why it is off
    os.environ["MEMPROF_DEBUG"] = "1"
    p, head = run(SETUPS["read-only"], shim=True)
    got = end(p, head)
    del os.environ["MEMPROF_DEBUG"]
    harness.check(got[:2] == want[:2], "debug run output %r" % (got,))
    harness.check(got[2].count("memprof: heap profiling off") == 1 and
                  "Read-only file system" in got[2], "MEMPROF_DEBUG stderr %r" % got[2])
check_clean(m)
print("ok")
