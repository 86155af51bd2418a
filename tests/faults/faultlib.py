"""Shared steps of the fault and load tests: the leak example's exact ground truth at
MEMPROF_RATE=1, checks of whole files, and the daemon's resource figures."""

import errno
import hashlib
import os
import subprocess
import time

import harness
import pprof

MiB = 1 << 20
FAULTS = os.path.join(harness.BUILD, "tests", "faults")
LEAK = os.path.join(harness.EXAMPLES, "leak")
SITES = os.path.join(FAULTS, "sites")
STORM = os.path.join(FAULTS, "storm")
STORMLIB = os.path.join(FAULTS, "libstormlib.so")
READER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reader.py")

SHIM_KEYS = ("Mallocs", "Frees", "HeapObjects", "TotalAlloc", "HeapAlloc", "SampleRate",
             "Samples", "LostSamples", "SampledSince")


def leak_spec(big_mib=1, big_obj=MiB, small_count=10, churn=100):
    """Arguments of the leak example and what its heap must say at rate 1."""
    return {"args": ["--big-mib", str(big_mib), "--big-obj", str(big_obj),
                     "--small-count", str(small_count), "--churn", str(churn)],
            "big_bytes": big_mib * MiB, "big_objects": big_mib * MiB // big_obj,
            "small_objects": small_count, "churn": churn}


def start_leak(spec, rate=1, shim=True):
    """Starts the leak example; returns (Popen, pid) once it printed ready."""
    p = harness.spawn([LEAK] + spec["args"], shim=shim, rate=rate, stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)
    line = harness.wait_for_line(p, "ready")
    return p, int(line.split()[1])


def finish(p, timeout=60):
    """Lets a program that waits for "exit" on stdin end; returns its stdout."""
    out, _ = p.communicate("exit\n", timeout=timeout)
    harness.check(p.returncode == 0, "pid %d exited with %d" % (p.pid, p.returncode))
    return out


def leak_problems(data, spec):
    """What is wrong with a heap or allocs file of the leak example, as a list of strings
    (empty when it is whole and exact)."""
    try:
        h = pprof.Profile(data)
    except Exception as e:  # truncated gzip, bad protobuf: the file is not whole
        return ["does not decode (%d bytes): %r" % (len(data), e)]
    out = []
    if h.period != 1:
        out.append("period %r" % h.period)
    inuse = h.by_top_function("inuse_space")
    objs = h.by_top_function("inuse_objects")
    allocs = h.by_top_function("alloc_objects")
    want = [("leak_big inuse_space", inuse.get("leak_big"), spec["big_bytes"]),
            ("leak_big inuse_objects", objs.get("leak_big"), spec["big_objects"]),
            ("leak_small inuse_space", inuse.get("leak_small"), spec["small_objects"] * 1000),
            ("leak_small inuse_objects", objs.get("leak_small"), spec["small_objects"]),
            ("churn alloc_objects", allocs.get("churn", 0), spec["churn"]),
            ("churn inuse_space", inuse.get("churn", 0), 0)]
    for what, got, exp in want:
        if got != exp:
            out.append("%s %r, want %r" % (what, got, exp))
    return out


def check_leak(data, spec, what="heap"):
    problems = leak_problems(data, spec)
    harness.check(not problems, "%s: %s" % (what, "; ".join(problems)))


def shim_stats(text):
    """The shim's section of memstats: the figures that stay put in an idle program."""
    ms = harness.memstats(text)
    return {k: ms.get(k) for k in SHIM_KEYS}


def sha(data):
    return hashlib.sha256(data).hexdigest()


def daemon_fds(m):
    return len(os.listdir("/proc/%d/fd" % m.proc.pid))


def daemon_rss(m):
    with open("/proc/%d/status" % m.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def mounts_on(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if line.split()[4] == path]


def check_no_mount(m):
    """After m.close(): nothing mounted on its directory, and the directory is gone."""
    harness.check(not mounts_on(m.dir), "mounts left on %s: %r" % (m.dir, mounts_on(m.dir)))
    harness.check(not os.path.exists(m.dir), "mount directory %s left behind" % m.dir)


def expect_errno(err, func, *args):
    try:
        func(*args)
    except OSError as e:
        harness.check(e.errno == err, "%s%r: %s, want %s" % (func.__name__, args, e,
                                                              errno.errorcode[err]))
        return
    harness.fail("%s%r succeeded, want %s" % (func.__name__, args, errno.errorcode[err]))


def wait_gone(pid, timeout=10):
    deadline = time.time() + timeout
    while os.path.exists("/proc/%d" % pid):
        harness.check(time.time() < deadline, "pid %d did not go away" % pid)
        time.sleep(0.01)


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


def start_reader(plan, tmpdir, name):
    """Starts reader.py on a plan (see there); collect its summary with reader_summary."""
    import json
    path = os.path.join(tmpdir, name + ".json")
    with open(path, "w") as f:
        json.dump(plan, f)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return harness.spawn(["python3", READER, path], env=env, stdout=subprocess.PIPE,
                         text=True)


def reader_summary(p, timeout):
    """The reader's JSON summary; a reader that does not finish in time is hung."""
    import json
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        harness.fail("reader %d hung (no summary within %d s)" % (p.pid, timeout))
    harness.check(p.returncode == 0, "reader %d exited with %d" % (p.pid, p.returncode))
    return json.loads(out)


def check_clean(*mounts):
    """At the end of a test: every process it started has ended, and every mount it made
    is gone with its directory."""
    running = [p.pid for p in harness._children if p.poll() is None]
    harness.check(not running, "processes left running: %r" % running)
    for m in mounts:
        check_no_mount(m)
