"""Nobody can hang the daemon with ptrace: a process reading its own threads files (cat,
ls -lR, du, tar over its own directory), ten of them at once, and a process whose thread
waits in vfork for a child that sleeps a minute all get an answer within seconds, saying
which thread could not be stopped and why; the target is left untraced; root's `ls` of
the mount still answers and SIGTERM still unmounts (checked when the mount closes)."""

import os
import shutil
import subprocess
import tempfile
import time

import harness

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
BOUND = 20  # seconds: far beyond a healthy answer, far below "forever"

if os.geteuid() != 0:
    harness.skip("needs root: the daemon mounts with allow_other and the test switches users")

# nobody may not be able to reach the build tree: run a copy from a public place
tmp = tempfile.mkdtemp()
os.chmod(tmp, 0o755)
THREADS = shutil.copy(os.path.join(harness.EXAMPLES, "threads"), tmp)


def as_nobody(script, **kw):
    return subprocess.Popen(NOBODY + ["sh", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def finish(p, what):
    try:
        out, err = p.communicate(timeout=BOUND)
    except subprocess.TimeoutExpired:
        p.kill()
        harness.fail("%s: no answer within %d s (the daemon hangs)" % (what, BOUND))
    return p.returncode, out, err


def tracer_of(pid, tid):
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return 0


m = harness.Mount()
os.chmod(m.dir, 0o755)
with m.start():
    # 1. a reader of its own threads.txt: its thread is listed, not stopped
    rc, out, err = finish(as_nobody("exec cat %s/$$/threads.txt" % m.dir),
                          "cat of its own threads.txt")
    harness.check(rc == 0, "cat of its own threads.txt failed: %s" % err)
    harness.check("it is reading this file" in out and "cat" in out,
                  "the reading thread is not named as such:\n" + out)

    # the same from tools that stat before reading, over their own directory
    for tool in ("ls -lR", "du -a", "tar cf /dev/null", "find"):
        rc, out, err = finish(as_nobody("exec %s %s/$$" % (tool, m.dir)), tool)
        harness.check(rc == 0, "%s over its own directory failed: %s" % (tool, err))

    # ten at once: more than libfuse has workers by default
    readers = [as_nobody('exec cat %s/$$/threads %s/$$/threads.txt > /dev/null'
                         % (m.dir, m.dir)) for _ in range(10)]
    for r in readers:
        rc, out, err = finish(r, "one of ten concurrent self-readers")
        harness.check(rc == 0, "a concurrent self-reader failed: %s" % err)

    # 2. a thread in vfork, its child asleep for a minute
    target = harness.spawn(NOBODY + [THREADS, "vfork"], stdout=subprocess.PIPE, text=True)
    harness.wait_for_line(target, "ready")
    for _ in range(5000):
        with open("/proc/%d/stat" % target.pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "D":
                break
        time.sleep(0.001)
    started = time.monotonic()
    rc, out, err = finish(as_nobody("exec cat %s/%d/threads.txt" % (m.dir, target.pid)),
                          "threads.txt of a process in vfork")
    took = time.monotonic() - started
    harness.check(rc == 0, "threads.txt of a vfork parent failed: %s" % err)
    harness.check("not stopped in time" in out, "the vfork parent is not reported:\n" + out)
    harness.check("wait_on_condvar" in out and "block_at_bottom" in out,
                  "the other threads lost their stacks:\n" + out)
    print("vfork parent: answered in %.2f s" % took)
    # The kernel lets the thread go when the daemon's tracing thread exits, which it
    # does right after handing over the answer: allow it that moment, not more.
    traced = []
    for _ in range(200):
        traced = [tid for tid in map(int, os.listdir("/proc/%d/task" % target.pid))
                  if tracer_of(target.pid, tid) != 0]
        if not traced:
            break
        time.sleep(0.01)
    harness.check(not traced, "threads %s are still traced after the collection" % traced)
    with open("/proc/%d/task/%d/children" % (target.pid, target.pid)) as f:
        for child in f.read().split():
            os.kill(int(child), 9)

    # root's listing still answers
    r = subprocess.run(["ls", m.dir], capture_output=True, timeout=BOUND)
    harness.check(r.returncode == 0 and str(target.pid).encode() in r.stdout,
                  "root's ls of the mount: %r" % r.stderr)
print("ok")
