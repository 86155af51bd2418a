#!/usr/bin/env python3
"""How long memstats and heap of a Go process take to read (the Go runtime collector).

    bench/go_latency.py [--build DIR] [--runs N] [--buckets N]

Builds bench/workloads/gobuckets with the newest installed Go (tests/lib/gobuild.py),
which holds N profiling buckets (default 10000), mounts memprofd with
tests/lib/harness.py and reads memstats and heap: cold = the first read from the fresh
daemon (layout and symbols not loaded yet), warm = the median of N later reads, each
1.1 s after the previous one so the daemon generates the file again.  Every latency is
open + read to EOF + close, from Python.
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
ap.add_argument("--buckets", type=int, default=10000)
args = ap.parse_args()
os.environ["MEMPROF_BUILD"] = os.path.abspath(args.build)
sys.path.insert(0, os.path.join(SOURCE, "tests", "lib"))
import gobuild  # noqa: E402
import harness  # noqa: E402
import pprof  # noqa: E402

version, go = gobuild.require_versions()[-1]
src_examples = os.path.join(HERE, "workloads")


def build():
    env = dict(os.environ, GO111MODULE="off", GOFLAGS="", GOPROXY="off", GOTOOLCHAIN="local",
               GOCACHE=os.path.join(args.build, "go-examples", "cache-" + version),
               HOME=args.build)
    out = os.path.join(args.build, "go-examples", "gobuckets-" + version)
    subprocess.run([go, "build", "-o", out, "."], cwd=os.path.join(src_examples, "gobuckets"),
                   env=env, check=True)
    return out


def timed(path):
    t = time.perf_counter()
    with open(path, "rb") as f:
        data = f.read()
    return (time.perf_counter() - t) * 1000, data


binary = build()
p = harness.spawn([binary, str(args.buckets)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  text=True)
harness.wait_for_line(p, "ready", timeout=120)
with harness.Mount() as m:
    results = {}
    for name in ("memstats", "heap"):
        cold, data = timed(m.path(p.pid, name))
        warm = []
        for _ in range(args.runs):
            time.sleep(CACHE_GAP)
            ms, data = timed(m.path(p.pid, name))
            warm.append(ms)
        results[name] = (cold, statistics.median(warm), data)
    samples = len(pprof.Profile(results["heap"][2]).samples)
    print("go%s, %d buckets asked, %d samples in heap" % (version, args.buckets, samples))
    for name in ("memstats", "heap"):
        print("%-8s cold %7.1f ms   warm %7.2f ms (median of %d)"
              % (name, results[name][0], results[name][1], args.runs))
p.stdin.close()
p.wait(timeout=30)
