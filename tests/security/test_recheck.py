"""Access holds at the moment of use.  A process of nobody's that, the instant a
collector seizes it (it watches its own TracerPid), makes itself non-dumpable, or execs
a setuid-root program, never gives nobody its stacks: the collector checks the process
again with every thread stopped, before copying anything, and answers EACCES with a log
line.  Root, who may read such processes, still gets them."""

import os
import shutil
import subprocess
import tempfile

import harness

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
SETUID = "/usr/bin/umount"  # setuid root in Debian's essential mount package
TRIES = 20
REFUSED = "credentials changed since the access check"

if os.geteuid() != 0:
    harness.skip("needs root: the daemon mounts with allow_other and the test switches users")

tmp = tempfile.mkdtemp()
os.chmod(tmp, 0o755)
WATCH = shutil.copy(os.path.join(harness.BUILD, "tests", "security", "execwatch"), tmp)


def attempt(m, reader_prefix, mode):
    """One watcher, one read of its threads.txt: (returncode, stdout, stderr)."""
    w = harness.spawn(NOBODY + [WATCH] + mode, stdout=subprocess.PIPE, text=True)
    pid = int(harness.wait_for_line(w, "ready").split()[1])
    r = subprocess.run(reader_prefix + ["cat", m.path(pid, "threads.txt")],
                       capture_output=True, text=True, timeout=30)
    w.kill()
    w.wait(timeout=30)
    return r


m = harness.Mount()
os.chmod(m.dir, 0o755)
with m.start():
    for mode in (["undumpable"], ["exec", SETUID, "--version"]):
        before = m.logtext().count(REFUSED)
        for _ in range(TRIES):
            r = attempt(m, NOBODY, mode)
            if r.returncode == 0:
                # read before the change took effect: only the watcher's own code
                harness.check("execwatch" in r.stdout and "umount" not in r.stdout,
                              "%s: nobody read what it may not:\n%s" % (mode, r.stdout))
            else:
                harness.check("Permission denied" in r.stderr or "No such file" in r.stderr,
                              "%s: unexpected error: %r" % (mode, r.stderr))
        refused = m.logtext().count(REFUSED) - before
        print("%s: %d of %d collections were refused at the moment of use"
              % (mode[0], refused, TRIES))
        if mode[0] == "undumpable":
            # prctl takes microseconds, stopping a running thread tens of them: the
            # change lands inside the collection nearly every time
            harness.check(refused > 0, "the change never landed inside a collection: "
                          "nothing was tested")

    # root may read non-dumpable processes: the same race gives root the stacks
    for _ in range(5):
        r = attempt(m, [], ["undumpable"])
        harness.check(r.returncode == 0 and "execwatch" in r.stdout,
                      "root's read failed: %r" % r.stderr)
print("ok")
