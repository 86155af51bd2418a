"""memprof attach on a Go program built without pprof: memstats shows MemProfileRate 0
and heap says profiling is off; after attach --rate 4096 a 32 MiB leak shows within
5%.  attach refuses a non-Go process and a process the caller may not trace."""

import os
import time
import subprocess

import gobuild
import harness
import pprof

MEMPROF = os.path.join(harness.BUILD, "cli", "memprof")
LEAK, MiB = "main.leakAfterAttach", 1 << 20


def attach(pid, *args, user=None):
    def drop():
        os.setgid(65534)
        os.setuid(65534)
    return subprocess.run([MEMPROF, "attach", str(pid)] + list(args), capture_output=True,
                          text=True, timeout=60, preexec_fn=drop if user else None)


vs = gobuild.require_versions()
with harness.Mount() as m:
    for v, go in vs:
        label = "go" + v
        p = harness.spawn([gobuild.build("noprof", v, go)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
        harness.wait_for_line(p, "ready")
        ms = harness.memstats(m.read(p.pid, "memstats").decode())
        harness.check(ms.get("go_MemProfileRate") == 0, "%s: go_MemProfileRate %r"
                      % (label, ms.get("go_MemProfileRate")))
        text = m.read(p.pid, "heap.txt").decode()
        harness.check("Go heap profiling is off" in text and "memprof attach" in text,
                      "%s: heap.txt before attach:\n%s" % (label, text))

        if os.getuid() == 0:
            r = attach(p.pid, user="nobody")
            harness.check(r.returncode != 0 and ("may not trace" in r.stderr or
                                                 "not permitted to trace" in r.stderr),
                          "%s: attach as nobody to root's process: %r" % (label, r))
        r = attach(p.pid, "--rate", "4096")
        harness.check(r.returncode == 0 and "now 4096" in r.stdout,
                      "%s: attach failed: %r" % (label, r))
        ms = harness.memstats(m.read(p.pid, "memstats").decode())
        harness.check(ms.get("go_MemProfileRate") == 4096, "%s: rate after attach" % label)

        p.stdin.write("leak\n")
        p.stdin.flush()
        harness.wait_for_line(p, "leaked")
        h = pprof.Profile(m.read(p.pid, "heap"))
        got = h.by_function("inuse_space", LEAK)
        harness.check(abs(got - 32 * MiB) <= 32 * MiB * 0.05,
                      "%s: %s holds %r bytes, not 32 MiB +-5%%" % (label, LEAK, got))
        text = m.read(p.pid, "heap.txt").decode()
        harness.check("MemProfileRate 4096" in text, "%s: heap.txt after:\n%s" % (label, text))
        print("ok", label, got)
        p.stdin.close()
        p.wait(timeout=30)

    # a program that is not Go is the native attach's (tests/e2e_attach): it loads the
    # shim instead of writing a Go runtime's variable
    sleeper = harness.spawn(["sleep", "60"])
    for _ in range(100):
        with open("/proc/%d/maps" % sleeper.pid) as f:
            if "libc.so" in f.read():
                break
        time.sleep(0.01)
    r = attach(sleeper.pid)
    harness.check(r.returncode == 0 and "attached to process" in r.stdout and
                  "MemProfileRate" not in r.stdout, "attach to sleep: %r" % r)
    sleeper.kill()
