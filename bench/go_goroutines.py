#!/usr/bin/env python3
"""How long goroutines and goroutines.txt of a Go process take to read, and what the
daemon holds for it.

    bench/go_goroutines.py [--build DIR] [--runs N] [--goroutines N] [--spin N]

Builds bench/workloads/gogoroutines with the newest installed Go, which parks N
goroutines (default 10000) at 64 depths (64 distinct stacks) and runs --spin busy ones
(default 0: no goroutine running, so nothing is stopped), mounts memprofd with
tests/lib/harness.py and reads both files: cold = the first read from the fresh daemon
(layout and symbols not loaded yet), warm = the median of N later reads, each 1.1 s after
the previous one so the daemon generates the file again; then threads.txt for the stop
it reports.  Latency is open + read to EOF + close, from Python; memprofd's VmHWM is
read from /proc at the end.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
CACHE_GAP = 1.1  # beyond memprofd's snapshot cache life (fs/snapshot.c)

ap = argparse.ArgumentParser(description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--build", default=os.environ.get("MEMPROF_BUILD")
                or os.path.join(SOURCE, "build"))
ap.add_argument("--runs", type=int, default=9)
ap.add_argument("--goroutines", type=int, default=10000)
ap.add_argument("--spin", type=int, default=0)
args = ap.parse_args()
os.environ["MEMPROF_BUILD"] = os.path.abspath(args.build)
sys.path.insert(0, os.path.join(SOURCE, "tests", "lib"))
import gobuild  # noqa: E402
import harness  # noqa: E402

version, go = gobuild.require_versions()[-1]


def build():
    env = dict(os.environ, GO111MODULE="off", GOFLAGS="", GOPROXY="off", GOTOOLCHAIN="local",
               GOCACHE=os.path.join(args.build, "go-examples", "cache-" + version),
               HOME=args.build)
    out = os.path.join(args.build, "go-examples", "gogoroutines-" + version)
    subprocess.run([go, "build", "-o", out, "."],
                   cwd=os.path.join(HERE, "workloads", "gogoroutines"), env=env, check=True)
    return out


def timed(path):
    t = time.perf_counter()
    with open(path, "rb") as f:
        data = f.read()
    return (time.perf_counter() - t) * 1000, data


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1]
    return "?"


binary = build()
p = harness.spawn([binary, str(args.goroutines)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  text=True, env={"SPIN": str(args.spin)})
harness.wait_for_line(p, "ready", timeout=120)
with harness.Mount() as m:
    results = {}
    for name in ("goroutines", "goroutines.txt"):
        cold, data = timed(m.path(p.pid, name))
        warm = []
        for _ in range(args.runs):
            time.sleep(CACHE_GAP)
            ms, data = timed(m.path(p.pid, name))
            warm.append(ms)
        results[name] = (cold, statistics.median(warm), data)
    text = results["goroutines.txt"][2].decode()
    threads = m.read(p.pid, "threads.txt").decode().splitlines()[0]
    print("go%s, %d goroutines parked, %d spinning" % (version, args.goroutines, args.spin))
    print(text.splitlines()[0])
    for line in text.splitlines()[1:5]:
        if line.startswith("#"):
            print(line)
    for name in ("goroutines", "goroutines.txt"):
        print("%-15s cold %7.1f ms   warm %7.2f ms (median of %d)   %d bytes"
              % (name, results[name][0], results[name][1], args.runs, len(results[name][2])))
    print("threads.txt:", threads)
    print("memprofd VmHWM", status(m.proc.pid, "VmHWM"), "kB")
p.stdin.close()
p.wait(timeout=30)
