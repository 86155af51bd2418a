#!/usr/bin/env python3
"""How long reading /memprof/metrics.prom takes on a host with many processes.

    bench/metrics_latency.py [--build DIR] [--procs N] [--shim N] [--go N] [--reads N]

Starts N processes in all (default 1000 beyond what the machine already runs): --shim of
them examples/leak under the shim (default 50), --go of them examples/go/leakcache
(default 10, if a Go toolchain is installed), the rest `sleep`.  Then reads metrics.prom
as root: cold = the first read from a freshly started daemon (nothing known about any
process), warm = --reads later reads spaced 1.1 s apart (beyond the 1 s snapshot cache,
so each is generated anew; these include the periodic re-checks for a shim that appeared,
each process every 30-60 s).  A read is open + read to EOF + close, from Python.  Also
prints what the file itself says it took (memprof_metrics_collection_seconds).
Mounts with tests/lib/harness.py, which cleans up processes and mounts.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
CACHE_GAP = 1.1  # beyond memprofd's snapshot cache life (fs/snapshot.c)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("MEMPROF_BUILD")
                    or os.path.join(SOURCE, "build"))
    ap.add_argument("--procs", type=int, default=1000)
    ap.add_argument("--shim", type=int, default=50)
    ap.add_argument("--go", type=int, default=10)
    ap.add_argument("--reads", type=int, default=20)
    return ap.parse_args()


args = parse_args()
os.environ["MEMPROF_BUILD"] = os.path.abspath(args.build)
sys.path.insert(0, os.path.join(SOURCE, "tests", "lib"))
import gobuild  # noqa: E402
import harness  # noqa: E402  (reads MEMPROF_BUILD when imported)

LEAK = os.path.join(harness.EXAMPLES, "leak")


def timed_read(path):
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        data = f.read()
    return time.perf_counter() - t0, data


def self_reported(data):
    m = re.search(rb"^memprof_metrics_collection_seconds (\S+)$", data, re.M)
    return float(m.group(1)) if m else float("nan")


def cpu_s(pid):
    """User + system CPU of a process and its threads so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(v):
    return "%.1f ms" % (v * 1000)


def start(n_shim, n_go, n_plain):
    procs = []
    for _ in range(n_shim):
        procs.append(harness.spawn([LEAK, "--big-mib", "1", "--small-count", "100",
                                    "--churn", "1000"], shim=True, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True))
    vs = gobuild.versions()
    go_bin = gobuild.build("leakcache", vs[-1][0], vs[-1][1]) if vs and n_go else None
    for _ in range(n_go if go_bin else 0):
        procs.append(harness.spawn([go_bin], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True))
    for p in procs:
        harness.wait_for_line(p, "ready")
    for _ in range(n_plain):
        procs.append(harness.spawn(["sleep", "100000"]))
    return procs, (n_go if go_bin else 0)


def main():
    n_go_wanted = args.go
    procs, n_go = start(args.shim, n_go_wanted, args.procs - args.shim - n_go_wanted)
    time.sleep(3)  # older than the 2 s during which a new process is looked at each time
    total = len([d for d in os.listdir("/proc") if d.isdigit()])
    with harness.Mount() as m:
        path = os.path.join(m.dir, "metrics.prom")
        cold, data = timed_read(path)
        cold_self = self_reported(data)
        warm, warm_self = [], []
        cpu0 = cpu_s(m.proc.pid)
        for _ in range(args.reads):
            time.sleep(CACHE_GAP)
            t, data = timed_read(path)
            warm.append(t)
            warm_self.append(self_reported(data))
        cpu = (cpu_s(m.proc.pid) - cpu0) / args.reads
        series = sum(1 for line in data.splitlines() if line and not line.startswith(b"#"))
        profiled = re.findall(rb'^memprof_processes_profiled\{kind="(\w+)"\} (\d+)$', data, re.M)
    warm.sort()
    print("| processes on the host | profiled (shim, Go) | file | cold | warm median | "
          "warm p90 | warm max | collection (file's own figure, median) | "
          "memprofd CPU per warm read |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("| %d | %s | %d series, %d KiB | %s | %s | %s | %s | %s | %s |" % (
        total, ", ".join("%s %s" % (k.decode(), v.decode()) for k, v in profiled), series,
        len(data) // 1024, ms(cold), ms(statistics.median(warm)),
        ms(warm[int(len(warm) * 0.9) - 1]), ms(warm[-1]), ms(statistics.median(warm_self)),
        ms(cpu)))
    print("(load average while measuring: %s)" % open("/proc/loadavg").read().split()[0])
    print("(cold collection, file's own figure: %s; started %d shim, %d Go, %d sleep)"
          % (ms(cold_self), args.shim, n_go, args.procs - args.shim - n_go_wanted))


main()
