"""Shared steps of the heap end-to-end tests: start an example under the shim."""

import os
import subprocess

import harness


def start_example(name, args=(), rate=None, shim=True):
    """Starts build/examples/NAME under the shim; returns (Popen, pid) once it is ready."""
    exe = os.path.join(harness.EXAMPLES, name)
    if not os.path.exists(exe):
        harness.skip("example %s was not built (for cgo_leak: golang-go missing)" % name)
    p = harness.spawn([exe] + list(args), shim=shim, rate=rate, stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)
    line = harness.wait_for_line(p, "ready")
    return p, int(line.split()[1])


def command(p, cmd, expect):
    p.stdin.write(cmd + "\n")
    p.stdin.flush()
    harness.wait_for_line(p, expect)


def finish(p):
    """Lets the example exit normally and checks it did so."""
    out, _ = p.communicate("exit\n", timeout=60)
    harness.check(p.returncode == 0, "example exited with %d" % p.returncode)
    return out
