"""Helpers for the metrics.prom tests: the exposition parsed, promtool, a loopback port,
node_exporter started as the shipped drop-in starts it, and HTTP on 127.0.0.1."""

import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import harness

LEAK = os.path.join(harness.EXAMPLES, "leak")
DROPIN = os.path.join(harness.SOURCE, "systemd", "prometheus-node-exporter.service.d",
                      "memprof.conf")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def samples(text):
    """[(name, {label: value}, float)] for every sample line of an exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        harness.check(m is not None, "not a sample line: %r" % line)
        labels = {k: unescape(v) for k, v in _LABEL.findall(m.group(3) or "")}
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def series(text, name, **want):
    """{pid: value} of the samples of name whose labels include want."""
    return {int(lb["pid"]): v for n, lb, v in samples(text)
            if n == name and all(lb.get(k) == w for k, w in want.items())}


def require(program, package):
    if shutil.which(program) is None:
        harness.skip("%s is not installed (Debian package %s)" % (program, package))


def promtool_check(text):
    """promtool check metrics: the format and Prometheus' naming conventions."""
    require("promtool", "prometheus")
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    harness.check(r.returncode == 0, "promtool check metrics failed:\n%s%s\n-- the file:\n%s"
                  % (r.stdout, r.stderr, text[:4000]))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_http(url, proc, what, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            return http_get(url)
        except OSError:
            if proc.poll() is not None:
                harness.fail("%s exited with %d" % (what, proc.returncode))
            if time.time() > deadline:
                harness.fail("%s did not answer on %s within %d s" % (what, url, timeout))
            time.sleep(0.1)


def dropin():
    """The shipped drop-in: (node_exporter's arguments after $ARGS, ambient capabilities)."""
    args, caps = None, []
    with open(DROPIN) as f:
        for line in f:
            line = line.strip()
            if line.startswith("ExecStart=") and line != "ExecStart=":
                argv = shlex.split(line[len("ExecStart="):])
                args = [a for a in argv[1:] if a != "$ARGS"]
            elif line.startswith("AmbientCapabilities="):
                caps += line.split("=", 1)[1].split()
    harness.check(args is not None, "no ExecStart in " + DROPIN)
    return args, caps


def start_node_exporter(mount, as_nobody=False, with_caps=True):
    """prometheus-node-exporter with the drop-in's arguments, its textfile directory the
    test's mount instead of /memprof, on a free loopback port; returns (proc, url)."""
    require("prometheus-node-exporter", "prometheus-node-exporter")
    args, caps = dropin()
    args = [a.replace("/memprof", mount) if "textfile.directory" in a else a for a in args]
    port = free_port()
    argv = ["prometheus-node-exporter"] + args + [
        "--web.listen-address=127.0.0.1:%d" % port,
        # what a test machine lacks (systemd, udev) only adds noise to the log
        "--no-collector.systemd", "--no-collector.diskstats"]
    if as_nobody:
        prefix = list(NOBODY)
        if with_caps and caps:
            c = ",".join("+" + x.lower().replace("cap_", "") for x in caps)
            prefix += ["--inh-caps=" + c, "--ambient-caps=" + c]
        argv = prefix + argv
    # its log in a file: a pipe nobody reads would stall it once full
    p = harness.spawn(argv, stdout=subprocess.DEVNULL, stderr=tempfile.TemporaryFile())
    url = "http://127.0.0.1:%d/metrics" % port
    wait_http(url, p, "node_exporter")
    return p, url


def start_leak(rate=1, user=None):
    """examples/leak under the shim; returns (proc, its memstats HeapAlloc reader)."""
    argv = [LEAK, "--big-mib", "4", "--small-count", "100", "--churn", "1000"]
    p = harness.spawn((user or []) + argv, shim=True, rate=rate, stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)
    harness.wait_for_line(p, "ready")
    wait_reading(p.pid)
    return p


def wait_reading(pid, timeout=30):
    """Until pid waits in read(2) for a command: its first read allocates stdin's
    buffer, after which its heap holds still for the test to compare readings."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/syscall" % pid) as f:
                if f.read().split()[0] == "0":  # __NR_read on x86-64
                    return
        except (OSError, IndexError):
            pass
        time.sleep(0.01)
    harness.fail("pid %d never waited in read(2) for a command" % pid)
