"""End-to-end test harness: a real memprofd mount in a temporary directory, real
programs, and cleanup of both even when a test fails."""

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("MEMPROF_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SOURCE = os.environ.get("MEMPROF_SOURCE") or os.path.join(
    os.path.dirname(__file__), "..", "..")
DAEMON = os.path.join(BUILD, "fs", "memprofd")
# A sanitizer build tests its daemon with the shim of a plain build: MEMPROF_SHIM.
SHIM = os.environ.get("MEMPROF_SHIM") or os.path.join(BUILD, "collectors", "shim",
                                                      "libmemprof.so")
EXAMPLES = os.path.join(BUILD, "examples")

SKIP = 77
_children = []
_mounts = []


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def fail(why):
    raise AssertionError(why)


def check(cond, why):
    if not cond:
        fail(why)


def mount_point(line):
    """A mountinfo line's mount point, with its \\ooo escapes (space, tab...) decoded."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if mount_point(line) == path:
                return True
    return False


def require_fuse():
    if not os.path.exists("/dev/fuse"):
        skip("/dev/fuse is missing: this machine cannot mount FUSE filesystems")
    if shutil.which("fusermount3") is None:
        skip("fusermount3 is not installed (Debian package fuse3)")


def _cleanup():
    for p in _children:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
            try:
                p.wait(5)
            except Exception:
                pass
    for m in list(_mounts):
        m.close()


atexit.register(_cleanup)
for _sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(_sig, lambda s, f: sys.exit(128 + s))


def spawn(argv, shim=False, rate=None, env=None, **kw):
    """Starts a program, optionally under the shim; killed at exit whatever happens."""
    e = dict(os.environ)
    if env:
        e.update(env)
    if shim:
        e["LD_PRELOAD"] = SHIM
        if rate is not None:
            e["MEMPROF_RATE"] = str(rate)
    p = subprocess.Popen(argv, env=e, **kw)
    _children.append(p)
    return p


def wait_for_line(p, text, timeout=30):
    """Reads p.stdout (a pipe) until a line containing text; returns that line."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            fail("process %d exited before printing %r" % (p.pid, text))
        if isinstance(line, bytes):
            line = line.decode()
        if text in line:
            return line
    fail("timed out waiting for %r" % text)


class Mount:
    """memprofd mounted on a fresh temporary directory; `with Mount() as m:`."""

    def __init__(self, args=(), env=None):
        require_fuse()
        self.dir = tempfile.mkdtemp(prefix="memprof-test-")
        self.args = list(args)
        self.env = env
        self.proc = None
        self.log = tempfile.TemporaryFile()
        _mounts.append(self)

    def start(self):
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        if self.env:
            e.update(self.env)
        self.proc = subprocess.Popen([DAEMON, "-f"] + self.args + [self.dir],
                                     stdout=self.log, stderr=self.log, env=e)
        _children.append(self.proc)
        deadline = time.time() + 20
        while not self._live():
            if self.proc.poll() is not None:
                fail("memprofd exited with %d: %s" % (self.proc.returncode, self.logtext()))
            if time.time() > deadline:
                fail("memprofd did not mount within 20 s: " + self.logtext())
            time.sleep(0.02)
        return self

    def _live(self):
        """Mounted and answering: a dead mount left by a killed daemon is listed too, but
        gives ENOTCONN until the new daemon has replaced it."""
        if not is_mounted(self.dir):
            return False
        try:
            os.listdir(self.dir)
            return True
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops the daemon; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def logtext(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def close(self):
        if self.proc is not None and self.proc.poll() not in (None, 0):
            # the daemon died under the test: its log holds the cause (a sanitizer's
            # report, say), which is what whoever reads the failure needs
            sys.stderr.write("memprofd exited with %d; its log:\n%s\n"
                             % (self.proc.returncode, self.logtext()[-20000:]))
        self.stop()
        if is_mounted(self.dir):
            subprocess.call(["fusermount3", "-u", "-z", self.dir],
                            stderr=subprocess.DEVNULL)
        try:
            os.rmdir(self.dir)
        except OSError:
            pass
        if self in _mounts:
            _mounts.remove(self)

    def path(self, pid, name=None):
        p = os.path.join(self.dir, str(pid))
        return os.path.join(p, name) if name else p

    def read(self, pid, name):
        with open(self.path(pid, name), "rb") as f:
            return f.read()

    def __enter__(self):
        return self if self.proc is not None else self.start()

    def __exit__(self, exc_type, *exc):
        # A test that passed also asks for a clean exit on SIGTERM: 0, with nothing
        # left mounted.  Under ASan that is where LeakSanitizer reports.
        rc = self.stop() if exc_type is None else None
        log = self.logtext() if rc else ""
        self.close()
        if rc:
            fail("memprofd exited with %d on SIGTERM; its log:\n%s" % (rc, log[-20000:]))
        return False


def go_pprof(*args, timeout=120):
    """Runs `go tool pprof ARGS` and returns stdout; fails the test on error."""
    if shutil.which("go") is None:
        skip("go is not installed (Debian package golang-go): go tool pprof is needed")
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.setdefault("HOME", tempfile.gettempdir())
    env["PPROF_TMPDIR"] = tempfile.gettempdir()
    r = subprocess.run(["go", "tool", "pprof"] + list(args), capture_output=True,
                       text=True, env=env, timeout=timeout)
    if r.returncode != 0:
        fail("go tool pprof %s failed: %s" % (" ".join(args), r.stderr))
    return r.stdout


def memstats(text):
    """Parses memstats `Name value` lines into a dict of ints."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        k, v = line.split()
        out[k] = int(v)
    return out
