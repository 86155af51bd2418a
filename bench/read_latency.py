#!/usr/bin/env python3
"""How long reading memprof's files takes, and what the daemon costs in memory.

    bench/read_latency.py [--build DIR] [--runs N] [--quick]

- `heap` of a process with 1k / 10k / 100k distinct sampled stacks (bench/workloads/
  bigheap.c at MEMPROF_RATE=1): cold = the first read from a freshly started daemon
  (empty symbol cache; the binaries are in the page cache), warm = later reads.
- `memstats` of the same process.
- `ls` of the mount root with 1000 extra processes (sleep) against `ls /proc`.
- memprofd's RSS with 100 profiled processes whose heap was each read once.

The daemon keeps a generated file for 1 s so that stat, open and read agree; warm reads
are spaced 1.1 s apart so each one generates the file again instead of hitting that
cache.  Every latency is open + read to EOF + close, from Python, median of N.
Mounts with tests/lib/harness.py, which also cleans up processes and mounts.
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


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("MEMPROF_BUILD")
                    or os.path.join(SOURCE, "build"))
    ap.add_argument("--runs", type=int, default=5, help="reads per measurement (5)")
    ap.add_argument("--quick", action="store_true",
                    help="3 reads, no 100k-stack process, 30 processes for the RSS test")
    ap.add_argument("--procs", type=int, default=1000, help="extra processes for ls (1000)")
    ap.add_argument("--only", default="heap,ls,rss",
                    help="comma-separated parts to measure: heap, ls, rss (all)")
    ap.add_argument("--profiled", type=int, default=100,
                    help="profiled processes for the daemon RSS test (100)")
    return ap.parse_args()


args = parse_args()
os.environ["MEMPROF_BUILD"] = os.path.abspath(args.build)
sys.path.insert(0, os.path.join(SOURCE, "tests", "lib"))
import harness  # noqa: E402  (reads MEMPROF_BUILD when imported)

BIGHEAP = os.path.join(harness.BUILD, "bench", "bigheap")


def timed_read(path):
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        n = len(f.read())
    return time.perf_counter() - t0, n


def ms(v):
    return "%.1f ms" % (v * 1000)


def start_bigheap(nstacks, rate=1):
    p = harness.spawn([BIGHEAP, str(nstacks)], shim=True, rate=rate,
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = harness.wait_for_line(p, "ready", timeout=300)
    return p, int(line.split()[1])


def stop(p):
    try:
        p.communicate("exit\n", timeout=30)
    except Exception:
        p.kill()
        p.wait()


def heap_latency(sizes, runs):
    rows = ["| distinct stacks | samples (lost) | heap size | cold (first read) | "
            "warm (later reads) | memstats |", "|---|---|---|---|---|---|"]
    for n in sizes:
        p, pid = start_bigheap(n)
        cold, warm, mem = [], [], []
        size = 0
        stats = {}
        for r in range(runs if n < 100000 else max(2, runs // 2)):
            with harness.Mount() as m:
                t, size = timed_read(m.path(pid, "heap"))
                cold.append(t)
                if r == 0:
                    for _ in range(runs):
                        time.sleep(CACHE_GAP)
                        warm.append(timed_read(m.path(pid, "heap"))[0])
                    for _ in range(runs):
                        time.sleep(CACHE_GAP)
                        mem.append(timed_read(m.path(pid, "memstats"))[0])
                    stats = harness.memstats(m.read(pid, "memstats").decode())
        stop(p)
        samples = [stats["Samples"]] if "Samples" in stats else []
        lost = [stats["LostSamples"]] if "LostSamples" in stats else []
        rows.append("| %d | %s (%s) | %.1f KiB | %s (%s-%s) | %s (%s-%s) | %s (%s-%s) |" % (
            n, samples[0] if samples else "?", lost[0] if lost else "?", size / 1024,
            ms(statistics.median(cold)), ms(min(cold)), ms(max(cold)),
            ms(statistics.median(warm)), ms(min(warm)), ms(max(warm)),
            ms(statistics.median(mem)), ms(min(mem)), ms(max(mem))))
        print("  heap %d done" % n, file=sys.stderr)
    return rows


def ls_latency(nprocs, runs):
    sleepers = [harness.spawn(["sleep", "3600"]) for _ in range(nprocs)]
    env = dict(os.environ, LC_ALL="C")
    env.pop("LD_PRELOAD", None)

    def ls(opts, path):
        t0 = time.perf_counter()
        # processes of other users of the machine come and go: `ls -l` then fails to
        # stat one entry and exits 1, which is no reason to stop measuring
        subprocess.run(["ls"] + opts + [path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env)
        return time.perf_counter() - t0

    rows = ["| command | entries | memprof mount | /proc | ratio |", "|---|---|---|---|---|"]
    with harness.Mount() as m:
        entries = len(os.listdir(m.dir))
        for opts in (["-1", "--color=never"], ["-l", "--color=never"]):
            mine, proc = [], []
            for _ in range(runs * 2):  # interleaved
                mine.append(ls(opts, m.dir))
                proc.append(ls(opts, "/proc"))
            a, b = statistics.median(mine), statistics.median(proc)
            rows.append("| `ls %s` | %d | %s | %s | %.2fx |" % (
                " ".join(opts), entries, ms(a), ms(b), a / b))
    for s in sleepers:
        s.kill()
    for s in sleepers:
        s.wait()
    print("  ls done", file=sys.stderr)
    return rows


def vm(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def daemon_rss(nprof):
    rows = ["| state | memprofd VmRSS | VmHWM |", "|---|---|---|"]
    with harness.Mount() as m:
        dpid = m.proc.pid
        rows.append("| idle, just mounted | %.1f MiB | %.1f MiB |" % (
            vm(dpid, "VmRSS") / 1024, vm(dpid, "VmHWM") / 1024))
        procs = [start_bigheap(1000) for _ in range(nprof)]
        for _, pid in procs:
            m.read(pid, "heap")
            m.read(pid, "memstats")
        rows.append("| heap + memstats of %d profiled processes (1k stacks each) read "
                    "once | %.1f MiB | %.1f MiB |" % (
                        nprof, vm(dpid, "VmRSS") / 1024, vm(dpid, "VmHWM") / 1024))
        time.sleep(CACHE_GAP * 2)
        # an ls makes the daemon walk /proc; snapshots older than 1 s are dropped lazily
        os.listdir(m.dir)
        for _, pid in procs[:1]:
            m.read(pid, "memstats")
        rows.append("| 2 s later | %.1f MiB | %.1f MiB |" % (
            vm(dpid, "VmRSS") / 1024, vm(dpid, "VmHWM") / 1024))
        for p, _ in procs:
            stop(p)
    print("  daemon RSS done", file=sys.stderr)
    return rows


def main():
    for exe in (harness.DAEMON, harness.SHIM, BIGHEAP):
        if not os.path.exists(exe):
            sys.exit("%s is missing: build it first (meson compile -C %s)"
                     % (exe, harness.BUILD))
    harness.require_fuse()
    runs = 3 if args.quick else args.runs
    sizes = (1000, 10000) if args.quick else (1000, 10000, 100000)
    nprof = min(args.profiled, 30) if args.quick else args.profiled
    print("Build: %s; %d reads per figure; %s" % (
        harness.BUILD, runs, time.strftime("%Y-%m-%d %H:%M %Z")))
    only = args.only.split(",")
    if "heap" in only:
        out = ["", "### heap and memstats read latency (bigheap N, MEMPROF_RATE=1)", ""]
        out += heap_latency(sizes, runs)
        print("\n".join(out), flush=True)
    if "ls" in only:
        out = ["", "### ls of the root with %d extra processes" % args.procs, ""]
        out += ls_latency(args.procs, runs)
        print("\n".join(out), flush=True)
    if "rss" in only:
        out = ["", "### memprofd memory", ""]
        out += daemon_rss(nprof)
        print("\n".join(out), flush=True)


if __name__ == "__main__":
    main()
