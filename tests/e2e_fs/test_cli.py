"""memprof run: preloads the shim, passes MEMPROF_RATE, keeps CMD's output and exit code."""

import os
import subprocess

from harness import BUILD, check

# the CLI finds the shim of its own build tree (MEMPROF_SHIM only redirects tests)
SHIM = os.path.join(BUILD, "collectors", "shim", "libmemprof.so")

CLI = os.path.join(BUILD, "cli", "memprof")


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.pop("MEMPROF_RATE", None)
    if env:
        e.update(env)
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, env=e,
                          timeout=60)


def main():
    r = run("--help")
    check(r.returncode == 0 and "memprof run" in r.stdout, "--help")
    r = run("version")
    check(r.returncode == 0 and r.stdout.startswith("memprof "), "version")
    r = run()
    check(r.returncode == 2 and "usage" in r.stderr, "no arguments should print usage")
    r = run("frobnicate")
    check(r.returncode == 2 and "unknown command" in r.stderr, "unknown command")
    r = run("run", "--rate", "lots", "--", "true")
    check(r.returncode == 2 and "--rate" in r.stderr, "bad --rate accepted")
    r = run("run")
    check(r.returncode == 2 and "no command" in r.stderr, "run without a command")

    show = ["sh", "-c", 'echo "$LD_PRELOAD|${MEMPROF_RATE-unset}"; echo err >&2; exit 7']
    if not os.path.exists(SHIM):
        r = run("run", "--", *show)
        check(r.returncode == 1 and "libmemprof.so not found" in r.stderr,
              "missing shim must be a clear error: %r" % r.stderr)
        print("ok (shim not built: checked the error path only)")
        return

    shim = os.path.realpath(SHIM)
    r = run("run", "--", *show)
    check(r.returncode == 7, "exit code %d, want 7" % r.returncode)
    check(r.stdout == shim + "|unset\n", "stdout %r" % r.stdout)
    check(r.stderr == "err\n", "stderr %r" % r.stderr)

    r = run("run", "--rate", "1", "--", *show, env={"LD_PRELOAD": "/lib/other.so"})
    check(r.stdout == shim + ":/lib/other.so|1\n", "prepend/rate: %r" % r.stdout)
    r = run("run", "--rate=0", *show)
    check(r.stdout == shim + "|0\n", "--rate=0 without --: %r" % r.stdout)
    r = run("run", "--rate", "10k", "--", *show)  # MEMPROF_RATE's syntax, passed as bytes
    check(r.stdout == shim + "|10240\n", "--rate 10k: %r" % r.stdout)

    r = run("run", "--", "/nonexistent/program")
    check(r.returncode == 127 and "cannot run" in r.stderr, "missing program: %r" % r.stderr)
    print("ok")


if __name__ == "__main__":
    main()
