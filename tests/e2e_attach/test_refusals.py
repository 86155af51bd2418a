"""memprof attach refuses, with a message and a non-zero exit, and leaves the process
as it was: a static binary, a traced process, one under a seccomp filter, one that
carries the shim already (preloaded, or attached before), a process of another user.
memprof detach stops sampling and keeps what was sampled."""

import os
import subprocess
import sys

import harness
import pprof
from attachlib import attach, command, exe, finish, maps_has_shim, memprof, start, tracer

SEIZE = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), None, None) != 0:
    print("seize failed", ctypes.get_errno(), flush=True); sys.exit(1)
print("seized", flush=True)
sys.stdin.read()
"""


def refused(p, want, preloaded=False):
    rc, out, err = memprof("attach", "--rate", "1", p.pid)
    harness.check(rc != 0, "attach did not refuse (%r %r)" % (out, err))
    harness.check(want in err, "refusal says %r, want %r" % (err, want))
    harness.check(maps_has_shim(p.pid) == preloaded, "the shim was loaded anyway")
    command(p, "a 10 1")  # still running, still answering


# static
p, _ = start("attachee_static")
refused(p, "statically linked")
finish(p)

# traced by someone else
p, _ = start("attachee")
t = subprocess.Popen([sys.executable, "-c", SEIZE, str(p.pid)], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True)
harness.check("seized" in t.stdout.readline(), "could not seize the attachee")
refused(p, "already traced")
t.stdin.close()
t.wait(10)
harness.check(tracer(p.pid) == 0, "still traced")
finish(p)

# seccomp
p, _ = start("attachee", wrap=[exe("seccomp_wrap")])
refused(p, "seccomp")
finish(p)

# the shim preloaded; attached twice
p, _ = start("attachee", env={"LD_PRELOAD": harness.SHIM})
refused(p, "already carries the shim", preloaded=True)
finish(p)
p, _ = start("attachee")
attach(p.pid, 1)
refused(p, "already carries the shim", preloaded=True)
finish(p)

# no permission: another user's process
if os.geteuid() == 0:
    p, _ = start("attachee")
    rc, out, err = memprof("attach", p.pid, user=65534)
    harness.check(rc != 0 and "not permitted" in err, "as nobody: %d %r" % (rc, err))
    harness.check(not maps_has_shim(p.pid), "loaded by nobody")
    command(p, "a 10 1")
    finish(p)
else:
    print("not root: the other-user refusal not run")

# no such process; a bad argument
rc, out, err = memprof("attach", "999999999")
harness.check(rc != 0 and err, "attach to no process: %d %r" % (rc, err))
rc, out, err = memprof("attach", "--rate", "x", "1")
harness.check(rc == 2, "bad --rate: %d" % rc)

# detach: what was sampled stays, nothing new is sampled
with harness.Mount() as m:
    p, _ = start("attachee")
    rc, out, err = memprof("detach", p.pid)
    harness.check(rc != 0 and "does not carry the shim" in err, "detach unattached: %r" % err)
    attach(p.pid, 1)
    command(p, "a 1000 10")
    rc, out, err = memprof("detach", p.pid)
    harness.check(rc == 0 and "sampling stopped" in out, "detach: %d %r %r" % (rc, out, err))
    command(p, "a 1000 10")
    h = pprof.Profile(m.read(p.pid, "heap"))
    harness.check(h.by_top_function("inuse_space").get("site_a") == 10000,
                  "site_a after detach: %r" % h.by_top_function("inuse_space").get("site_a"))
    txt = m.read(p.pid, "heap.txt").decode()
    harness.check("stopped by memprof detach" in txt, "heap.txt header: " + txt[:300])
    rc, out, err = memprof("attach", "--rate", "0", p.pid)
    harness.check(rc == 0 and "not sampling" in out, "attach --rate 0 again: %r" % out)
    command(p, "free-pre")
    finish(p)
print("ok")
