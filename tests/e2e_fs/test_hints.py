"""What memstats and the programs say when heap profiling is off or misconfigured:
the shim to preload is the one of this build tree; a statically linked program is told
what can work instead of LD_PRELOAD; a MEMPROF_RATE that is not understood is said once
on the program's stderr and in memstats, and the default is used; k/M/G suffixes work
in the variable and in `memprof run --rate`; a second memprofd on a live mount refuses."""

import os
import subprocess
import tempfile

import harness
from harness import BUILD, DAEMON, EXAMPLES, Mount, check, memstats
from fsutil import read_file, spawn_idle

CLI = os.path.join(BUILD, "cli", "memprof")
# the daemon names the shim beside it (MEMPROF_SHIM only redirects tests)
BUILD_SHIM = os.path.realpath(os.path.join(BUILD, "collectors", "shim", "libmemprof.so"))


def check_hints(m):
    p = spawn_idle()
    text = read_file(m.path(p.pid, "memstats")).decode()
    p.kill()
    check("# to turn it on: LD_PRELOAD=%s CMD, or memprof run -- CMD; in this process as "
          "it runs: memprof attach %d\n" % (BUILD_SHIM, p.pid) in text,
          "the hint does not name this build's shim %s:\n%s" % (BUILD_SHIM, text))
    check(os.path.exists(BUILD_SHIM), "the shim named does not exist")

    p = spawn_idle([os.path.join(BUILD, "tests", "e2e_fs", "static-idle")])
    text = read_file(m.path(p.pid, "memstats")).decode()
    p.kill()
    check("# this program is statically linked (no dynamic loader): LD_PRELOAD cannot "
          "load libmemprof.so into it." in text, "no word on static linking:\n" + text)
    check("memprof attach %d" % p.pid in text, "no working alternative named:\n" + text)
    check("LD_PRELOAD=" not in text, "LD_PRELOAD suggested for a static program:\n" + text)


def run_leak(m, argv, env):
    """Runs the leak example (argv: how to start it); returns (memstats, its stderr)."""
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.pop("MEMPROF_RATE", None)
    e.update(env)
    p = harness.spawn(argv + [os.path.join(EXAMPLES, "leak"), "--churn", "10"], env=e,
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True)
    pid = int(harness.wait_for_line(p, "ready").split()[1])
    text = read_file(m.path(pid, "memstats")).decode()
    _, err = p.communicate("exit\n", timeout=60)
    check(p.returncode == 0, "leak exited with %d" % p.returncode)
    return text, err


def check_rates(m):
    shim = {"LD_PRELOAD": harness.SHIM}
    for bad in ("xyz", "-1", "10q"):
        text, err = run_leak(m, [], dict(shim, MEMPROF_RATE=bad))
        check(err == 'memprof: MEMPROF_RATE="%s" not understood (bytes, or with k, M or G): '
                     "using the default, 524288\n" % bad,
              "stderr for MEMPROF_RATE=%s: %r" % (bad, err))
        check('# MEMPROF_RATE="%s" not understood: using 524288\n' % bad in text,
              "memstats silent on MEMPROF_RATE=%s:\n%s" % (bad, text))
        check(memstats(text)["SampleRate"] == 524288, "SampleRate for %s" % bad)
    for good, rate in (("10k", 10240), ("1M", 1 << 20), ("65536", 65536)):
        text, err = run_leak(m, [], dict(shim, MEMPROF_RATE=good))
        check(err == "", "stderr for MEMPROF_RATE=%s: %r" % (good, err))
        check("not understood" not in text, "MEMPROF_RATE=%s refused:\n%s" % (good, text))
        check(memstats(text)["SampleRate"] == rate, "SampleRate for %s: %d" % (
            good, memstats(text)["SampleRate"]))
    text, err = run_leak(m, [CLI, "run", "--rate", "2k", "--"], {})
    check(err == "" and memstats(text)["SampleRate"] == 2048,
          "memprof run --rate 2k: SampleRate %r, stderr %r" % (memstats(text).get("SampleRate"),
                                                               err))
    r = subprocess.run([CLI, "run", "--rate", "1.5k", "--", "true"], capture_output=True,
                       text=True)
    check(r.returncode == 2 and "--rate" in r.stderr, "--rate 1.5k accepted: %r" % r.stderr)


def check_double_mount():
    # a space in the name: mountinfo escapes it, and the check must still match
    d = tempfile.mkdtemp(prefix="memprof test ")
    m = Mount()
    os.rmdir(m.dir)
    m.dir = d
    def mounts_on_d():
        with open("/proc/self/mountinfo") as f:
            return sum(harness.mount_point(line) == d for line in f)

    with m:
        check(mounts_on_d() == 1, "not mounted once")
        for argv in ([DAEMON, "-f", d], [DAEMON, d + "/"]):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            check(r.returncode != 0, "%r on a live mount exited 0" % argv)
            check("is already a live memprof mount" in r.stderr, "stderr %r" % r.stderr)
        check(mounts_on_d() == 1, "a second memprof was mounted on %s" % d)
        p = spawn_idle()
        check(memstats(read_file(m.path(p.pid, "memstats")).decode())["VmSize"] > 0,
              "the first mount stopped working")
        p.kill()


def main():
    with Mount() as m:
        check_hints(m)
        check_rates(m)
    check_double_mount()
    print("ok")


if __name__ == "__main__":
    main()
