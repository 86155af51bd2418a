#!/usr/bin/env python3
"""memprof against its peers: wall time and peak RSS of the same workloads run bare,
under memprof's shim and under each peer profiler, interleaved, several runs each.

    bench/run.py [--build DIR] [--runs N] [--quick] [--workloads a,b] [--tools a,b]
    bench/run.py --callgrind [--build DIR]

Prints Markdown tables.  Wall ratios are per round (each run divided by the baseline run
of the same round, so slow drifts of a noisy machine cancel), then the median and the
min-max over rounds.  Peak RSS is ru_maxrss of the workload process itself, from wait4
(for heaptrack that excludes heaptrack_interpret and the compressor, which run beside
it; for massif it is valgrind's process, which is the workload).

--callgrind counts instructions per malloc(32)+free pair with callgrind: pair.c runs
twice with different pair counts and the difference of the totals is divided by the
difference of the counts, so startup and teardown cancel.  Exact instruction counts are
repeatable where wall time is not.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
LIBDIR = "/usr/lib/x86_64-linux-gnu"
TCMALLOC = os.path.join(LIBDIR, "libtcmalloc.so.4")
JEMALLOC = os.path.join(LIBDIR, "libjemalloc.so.2")
HEAPTRACK_PRELOAD = "/usr/lib/heaptrack/libheaptrack_preload.so"
HEAPTRACK_INTERPRET = "/usr/lib/heaptrack/libexec/heaptrack_interpret"
JEMALLOC_PROF = "prof:true,lg_prof_sample:19"


def find_shim(build):
    for rel in ("collectors/shim/libmemprof.so", "collectors/libmemprof.so"):
        p = os.path.join(build, rel)
        if os.path.exists(p):
            return p
    return None


# ---------------------------------------------------------------------------- workloads

def make_sql(path, rows):
    """Writes a deterministic SQL script inserting ROWS rows into an in-memory table with
    two indexes, 1000 rows per transaction, as an application's import would."""
    with open(path, "w") as f:
        f.write("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, email TEXT, "
                "score REAL, note TEXT);\n"
                "CREATE INDEX t_name ON t(name);\nCREATE INDEX t_score ON t(score);\n")
        for i in range(rows):
            if i % 1000 == 0:
                f.write("BEGIN;\n")
            f.write("INSERT INTO t VALUES(%d,'user-%07d','user-%07d@example.org',%d.%d,'%s');\n"
                    % (i, (i * 7919) % rows, i, (i * 31) % 1000, i % 10,
                       ("note %d " % i) * (1 + i % 5)))
            if i % 1000 == 999:
                f.write("COMMIT;\n")
        if rows % 1000:
            f.write("COMMIT;\n")
        f.write("SELECT count(*), sum(length(note)) FROM t;\n"
                "SELECT name FROM t ORDER BY score DESC, name LIMIT 3;\n")


def workloads(build, tmp, scale):
    """name -> (argv, stdin path or None, small: whether massif runs on it)."""
    bench = os.path.join(build, "bench")
    sql = os.path.join(tmp, "insert.sql")
    make_sql(sql, int(100000 * scale))
    return {
        "churn": ([os.path.join(bench, "churn"), "2", str(int(20000 * scale))], None, True),
        "sqlite3": (["/usr/bin/sqlite3", ":memory:"], sql, True),
        "python3": (["/usr/bin/python3", os.path.join(HERE, "workloads", "pywork.py"),
                     str(max(1, int(20 * scale)))], None, False),
    }


# -------------------------------------------------------------------------------- tools

class Tool:
    """How to run a workload under one profiler (or none)."""

    def __init__(self, name, env=None, prefix=None, base=None, slow=False, need=(),
                 heaptrack=False, small_only=False, note=""):
        self.name = name
        self.env = env or {}
        self.prefix = prefix or []
        self.base = base          # the run this one's allocator equals, if not glibc's
        self.slow = slow          # runs only --slow-runs rounds
        self.need = need          # files that must exist
        self.heaptrack = heaptrack
        self.small_only = small_only
        self.note = note

    def missing(self):
        return [n for n in self.need if not n or not os.path.exists(n)]


def tools(shim, tmp):
    massif_out = os.path.join(tmp, "massif.out")
    return [
        Tool("baseline"),
        Tool("memprof", {"LD_PRELOAD": shim or ""}, need=[shim],
             note="shim, default rate (512 KiB)"),
        Tool("memprof-rate1", {"LD_PRELOAD": shim or "", "MEMPROF_RATE": "1"}, need=[shim],
             note="shim, every allocation sampled"),
        Tool("heaptrack", heaptrack=True, slow=True,
             need=[HEAPTRACK_PRELOAD, HEAPTRACK_INTERPRET],
             note="preload + heaptrack_interpret | zstd, as the heaptrack script runs it"),
        Tool("tcmalloc", {"LD_PRELOAD": TCMALLOC}, need=[TCMALLOC],
             note="gperftools allocator without profiling"),
        Tool("gperftools-heap", {"LD_PRELOAD": TCMALLOC,
                                 "HEAPPROFILE": os.path.join(tmp, "gperf")},
             base="tcmalloc", slow=True, need=[TCMALLOC], note="HEAPPROFILE"),
        Tool("jemalloc", {"LD_PRELOAD": JEMALLOC}, need=[JEMALLOC],
             note="jemalloc without profiling"),
        Tool("jemalloc-prof", {"LD_PRELOAD": JEMALLOC, "MALLOC_CONF": JEMALLOC_PROF,
                               "JE_MALLOC_CONF": JEMALLOC_PROF},
             base="jemalloc", need=[JEMALLOC], note="MALLOC_CONF=" + JEMALLOC_PROF),
        Tool("massif", prefix=["valgrind", "--tool=massif", "-q",
                               "--massif-out-file=" + massif_out],
             slow=True, small_only=True, need=[shutil.which("valgrind")]),
    ]


# ------------------------------------------------------------------------------ running

def run_once(tool, argv, stdin_path, tmp, timeout):
    """Runs one workload under TOOL; returns (wall seconds, maxrss KiB, stdout, rc);
    rc is None when the run was killed after TIMEOUT seconds."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update(tool.env)
    side = None
    if tool.heaptrack:
        fifo = os.path.join(tmp, "heaptrack.fifo")
        if os.path.exists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo)
        compressor = "zstd -c" if shutil.which("zstd") else "gzip -c"
        # heaptrack_interpret can run away on a corrupted trace (see RESULTS.md): cap
        # its address space so it fails instead of taking the machine's memory
        side = subprocess.Popen("ulimit -v 4194304; '%s' < '%s' | %s > '%s'" % (
            HEAPTRACK_INTERPRET, fifo, compressor, os.path.join(tmp, "heaptrack.out")),
            shell=True, stderr=subprocess.DEVNULL, start_new_session=True)
        env["LD_PRELOAD"] = HEAPTRACK_PRELOAD
        env["DUMP_HEAPTRACK_OUTPUT"] = fifo
    out = tempfile.TemporaryFile(dir=tmp)
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(tool.prefix + argv, env=env, stdin=stdin, stdout=out,
                             stderr=subprocess.DEVNULL, cwd=tmp)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdin_path:
            stdin.close()
    timed_out = wall >= timeout
    if side:
        # the trace is written out before the next run, not timed; a wedged
        # heaptrack_interpret is killed with its pipeline
        try:
            side.wait(timeout=60 if not timed_out else 1)
        except subprocess.TimeoutExpired:
            os.killpg(side.pid, 9)
            side.wait()
    out.seek(0)
    return wall, ru.ru_maxrss, out.read(), None if timed_out else p.returncode


def clean_outputs(tmp):
    for f in os.listdir(tmp):
        if f.startswith(("gperf", "massif", "heaptrack", "jeprof")):
            try:
                os.unlink(os.path.join(tmp, f))
            except OSError:
                pass


def fmt_ratio(vals):
    if not vals:
        return "n/a"
    return "%.2fx (%.2f-%.2f)" % (statistics.median(vals), min(vals), max(vals))


def bench_workload(name, wl, tls, args, tmp):
    argv, stdin_path, small = wl
    runnable = [t for t in tls if not (t.small_only and not small)]
    times = {t.name: [] for t in runnable}
    rss = {t.name: [] for t in runnable}
    ratios = {t.name: [] for t in runnable}
    own = {t.name: [] for t in runnable}
    mismatch = {}
    failed = set()
    ref_out = None
    for rnd in range(args.runs):
        row = {}
        for t in runnable:
            if (t.slow and rnd >= args.slow_runs) or t.name in failed:
                continue
            # a run that takes 100 times the baseline is wedged, not slow
            limit = min(args.timeout, max(30, 100 * row.get("baseline", args.timeout)))
            wall, maxrss, out, rc = run_once(t, argv, stdin_path, tmp, limit)
            clean_outputs(tmp)
            if rc is None:
                mismatch[t.name] = "killed after %d s" % limit
                failed.add(t.name)
                continue
            if rc != 0:
                mismatch[t.name] = "exit code %d" % rc
            if t.name == "baseline":
                ref_out = out
            elif out != ref_out:
                mismatch.setdefault(t.name, "different stdout")
            row[t.name] = wall
            times[t.name].append(wall)
            rss[t.name].append(maxrss)
        for t in runnable:
            if t.name in row:
                ratios[t.name].append(row[t.name] / row["baseline"])
                if t.base and t.base in row:
                    own[t.name].append(row[t.name] / row[t.base])
        print("  %s round %d/%d done" % (name, rnd + 1, args.runs), file=sys.stderr)
    base_rss = statistics.median(rss["baseline"])
    lines = ["", "### %s" % name, "",
             "`%s`%s" % (" ".join(argv), " < " + os.path.basename(stdin_path)
                         if stdin_path else ""), "",
             "| run | n | wall (median) | wall / baseline (min-max) | wall / own allocator "
             "| peak RSS | RSS / baseline | RSS - baseline |",
             "|---|---|---|---|---|---|---|---|"]
    for t in runnable:
        if not times[t.name]:
            if t.name in mismatch:
                lines.append("| %s (**%s**) | 0 | | | | | | |" % (t.name, mismatch[t.name]))
            continue
        r = statistics.median(rss[t.name])
        lines.append("| %s%s | %d | %.3f s | %s | %s | %.1f MiB | %.2fx | %+.1f MiB |" % (
            t.name, " (**%s**)" % mismatch[t.name] if t.name in mismatch else "",
            len(times[t.name]), statistics.median(times[t.name]), fmt_ratio(ratios[t.name]),
            fmt_ratio(own[t.name]) if t.base else "", r / 1024, r / base_rss,
            (r - base_rss) / 1024))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- callgrind

def callgrind_total(argv, env, tmp):
    out = os.path.join(tmp, "callgrind.out")
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.update(env)
    subprocess.run(["valgrind", "--tool=callgrind", "-q", "--callgrind-out-file=" + out]
                   + argv, env=e, check=True, stdout=subprocess.DEVNULL, cwd=tmp)
    with open(out) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                total = int(m.group(1))
    return total, out


def annotate(out, pairs, top=12):
    """Self instructions per pair by function, from callgrind_annotate, for the functions
    that dominate."""
    r = subprocess.run(["callgrind_annotate", "--threshold=99.9", out],
                       capture_output=True, text=True)
    rows = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
        if m and ":" in m.group(2) and not m.group(2).startswith("=>") \
                and "PROGRAM TOTALS" not in line:
            rows.append((int(m.group(1).replace(",", "")), m.group(2)))
    rows.sort(reverse=True)
    return ["| %.2f | `%s` |" % (ir / pairs, fn) for ir, fn in rows[:top]]


def whole_workloads(args, shim, tmp):
    """Instructions of whole (small) workloads with and without the shim: a noise-free
    proxy for the wall-time ratio where the machine is too noisy to show a few percent."""
    churn = os.path.join(args.build, "bench", "churn")
    py = os.path.join(HERE, "workloads", "pywork.py")
    sql = os.path.join(tmp, "insert-small.sql")
    make_sql(sql, 10000)
    cases = [("churn", [churn, "2", "2000"], None), ("sqlite3", ["/usr/bin/sqlite3", ":memory:",
             ".read " + sql], None), ("python3", ["/usr/bin/python3", py, "2"], None)]
    lines = ["", "### Whole-workload instructions (callgrind, smaller sizes)", "",
             "| workload | baseline Ir | memprof Ir / baseline | MEMPROF_RATE=1 Ir / baseline |",
             "|---|---|---|---|"]
    for name, argv, _ in cases:
        base, _ = callgrind_total(argv, {}, tmp)
        mine, _ = callgrind_total(argv, {"LD_PRELOAD": shim}, tmp)
        every, _ = callgrind_total(argv, {"LD_PRELOAD": shim, "MEMPROF_RATE": "1"}, tmp)
        lines.append("| `%s` | %d | %.4fx | %.3fx |" % (
            " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv)),
            base, mine / base, every / base))
        print("  callgrind %s done" % name, file=sys.stderr)
    return lines


def callgrind_mode(args, shim, tmp):
    pair = os.path.join(args.build, "bench", "pair")
    n1, n2 = args.pairs // 5, args.pairs
    configs = [("glibc", {}, None)]
    if shim:
        configs += [("memprof (default rate)", {"LD_PRELOAD": shim}, "glibc"),
                    ("memprof MEMPROF_RATE=0", {"LD_PRELOAD": shim, "MEMPROF_RATE": "0"},
                     "glibc")]
    configs += [("jemalloc", {"LD_PRELOAD": JEMALLOC}, None),
                ("jemalloc prof lg_prof_sample:19",
                 {"LD_PRELOAD": JEMALLOC, "MALLOC_CONF": JEMALLOC_PROF}, "jemalloc"),
                ("tcmalloc", {"LD_PRELOAD": TCMALLOC}, None)]
    per = {}
    outs = {}
    lines = ["", "### Instructions per malloc(32)+free pair (callgrind)", "",
             "`valgrind --tool=callgrind %s N` for N = %d and %d; "
             "(Ir(N2) - Ir(N1)) / (N2 - N1)" % (pair, n1, n2), "",
             "| allocator | Ir per pair | added over | added |", "|---|---|---|---|"]
    for name, env, base in configs:
        t1, _ = callgrind_total([pair, str(n1)], env, tmp)
        t2, out = callgrind_total([pair, str(n2)], env, tmp)
        keep = os.path.join(tmp, "cg.%d" % len(outs))
        os.rename(out, keep)
        outs[name] = keep
        per[name] = (t2 - t1) / (n2 - n1)
        print("  callgrind %s: %.2f" % (name, per[name]), file=sys.stderr)
        lines.append("| %s | %.2f | %s | %s |" % (
            name, per[name], base or "", "%+.2f" % (per[name] - per[base]) if base else ""))
    if shim:
        lines += whole_workloads(args, shim, tmp)
    if shim and args.annotate:
        for name in ("glibc", "memprof (default rate)"):
            lines += ["", "Self instructions per pair by function, %s (N = %d):" % (name, n2),
                      "", "| Ir/pair | function |", "|---|---|"]
            lines += annotate(outs[name], n2)
    return "\n".join(lines)


# --------------------------------------------------------------------------------- main

def machine():
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout \
                .splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    return "%s, %d CPUs, %d MiB RAM, kernel %s, %s" % (
        model, os.cpu_count(), mem, os.uname().release,
        time.strftime("%Y-%m-%d %H:%M %Z"))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("MEMPROF_BUILD")
                    or os.path.join(SOURCE, "build"))
    ap.add_argument("--runs", type=int, default=5, help="rounds per workload (5)")
    ap.add_argument("--slow-runs", type=int, default=2,
                    help="rounds for the slow peers: heaptrack, gperftools heap, massif (2)")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds after which a run is killed and its tool dropped "
                    "(120; also at 100x the round's baseline, at least 30 s)")
    ap.add_argument("--scale", type=float, default=1.0, help="workload size factor")
    ap.add_argument("--quick", action="store_true",
                    help="3 rounds, 1 for slow peers, workloads at half size")
    ap.add_argument("--workloads", help="comma-separated subset of churn,sqlite3,python3")
    ap.add_argument("--tools", help="comma-separated subset of the runs (baseline is "
                    "always included)")
    ap.add_argument("--callgrind", action="store_true",
                    help="instructions per malloc+free pair instead of wall time")
    ap.add_argument("--pairs", type=int, default=1000000, help="pairs for --callgrind")
    ap.add_argument("--annotate", action="store_true",
                    help="with --callgrind: per-function instructions per pair")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.slow_runs, args.scale = 3, 1, args.scale * 0.5
    args.build = os.path.abspath(args.build)
    for exe in ("churn", "pair", "bigheap"):
        if not os.path.exists(os.path.join(args.build, "bench", exe)):
            sys.exit("%s/bench/%s is missing: meson compile -C %s bench/%s"
                     % (args.build, exe, args.build, exe))
    shim = find_shim(args.build)
    if not shim:
        print("warning: no libmemprof.so in %s: memprof runs skipped" % args.build,
              file=sys.stderr)

    print("Machine: " + machine())
    print("Build: %s, shim: %s" % (args.build, shim or "missing"))
    with tempfile.TemporaryDirectory(prefix="memprof-bench-") as tmp:
        if args.callgrind:
            print(callgrind_mode(args, shim, tmp))
            return
        tls = tools(shim, tmp)
        skipped = [(t.name, t.missing()) for t in tls if t.missing()]
        tls = [t for t in tls if not t.missing()]
        if args.tools:
            want = set(args.tools.split(",")) | {"baseline"}
            want |= {t.base for t in tls if t.name in want and t.base}
            tls = [t for t in tls if t.name in want]
        for name, miss in skipped:
            print("skipped %s: missing %s" % (name, ", ".join(map(str, miss))))
        print("Runs: %d rounds (%d for heaptrack, gperftools-heap and massif), interleaved; "
              "scale %.2f" % (args.runs, args.slow_runs, args.scale))
        print("\n" + "\n".join("- %s: %s" % (t.name, t.note) for t in tls if t.note))
        wls = workloads(args.build, tmp, args.scale)
        names = args.workloads.split(",") if args.workloads else list(wls)
        for name in names:
            print(bench_workload(name, wls[name], tls, args, tmp), flush=True)


if __name__ == "__main__":
    main()
