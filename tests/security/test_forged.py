"""A segment is attributed to a process only if that process maps it: a segment file
named after a root process, made and mapped by nobody, never shows in the root process's
files; the forger sees only its own."""

import errno
import os
import shutil
import subprocess
import tempfile

import harness

FORGE = os.path.join(harness.BUILD, "tests", "security", "forge")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

# nobody may not be able to reach the build tree: run a copy from a public place
tmp = tempfile.mkdtemp()
os.chmod(tmp, 0o755)
FORGE = shutil.copy(FORGE, tmp)

m = harness.Mount()
os.chmod(m.dir, 0o755)
with m.start():  # chmod first: the mount itself is read-only
    victim = harness.spawn(["sleep", "600"])
    forger = harness.spawn(NOBODY + [FORGE, "valid", str(victim.pid)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    fpid = int(harness.wait_for_line(forger, "ready").split()[1])
    try:
        m.read(victim.pid, "heap")
        harness.fail("the victim got a heap file from a forged segment")
    except OSError as e:
        harness.check(e.errno == errno.ENOENT, "victim heap: %s" % e)
    harness.check(b"heap profiling off" in m.read(victim.pid, "memstats"),
                  "victim memstats mentions a heap")
    # the forger's own directory shows its segment, to the forger itself
    r = subprocess.run(NOBODY + ["cat", m.path(fpid, "memstats")], capture_output=True)
    harness.check(r.returncode == 0 and b"Mallocs 10" in r.stdout,
                  "forger's own memstats: %r" % (r.stdout + r.stderr))
    forger.communicate("")
    victim.kill()
shutil.rmtree(tmp, ignore_errors=True)
print("ok")
