#!/usr/bin/env python3
"""Thread stacks: memprof's threads.txt against eu-stack and gdb on the same target.

For each tool: total latency (wall time of the command) and the time the target spent
stopped, seen two ways.  From inside: a ticker thread reads CLOCK_MONOTONIC in a tight
loop and keeps the largest gap (bench/threads/stoptarget.c); that includes every
preemption, so it cannot go below the machine's scheduling noise.  From the kernel: the
sched_switch tracepoint (tracefs, root) says when the ticker left the CPU in a ptrace stop
(state t), and the ticker's gap around that moment is the stop alone, however long the
command runs.  Tools run interleaved, RUNS times
each, with a pause between runs longer than memprofd's snapshot cache (1 s), so every
cat really collects.  Medians are written to bench/threads/RESULTS-threads.md (not kept
in git: bench/RESULTS.md holds the figures).

usage: bench/threads/bench_threads.py [--build DIR] [--runs N] [--out FILE]
"""

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return "%s, %d cpus, %s %s, load %s" % (model, os.cpu_count(), platform.system(),
                                            platform.release(),
                                            open("/proc/loadavg").read().split()[0])


TRACEFS = "/sys/kernel/tracing"


class KernelStops:
    """The ticker's ptrace stops: when it left the CPU in one, from the sched_switch
    tracepoint (filtered on its tid, clock CLOCK_MONOTONIC), and how long it then went
    without running, from the gaps the ticker itself keeps.  The switch back in is not
    used: this kernel does not always trace it when the CPU was polling in idle."""

    def __init__(self, tid):
        self.tid = tid
        ev = os.path.join(TRACEFS, "events", "sched", "sched_switch")
        self.ok = os.access(os.path.join(ev, "enable"), os.W_OK)
        if not self.ok:
            return
        with open(os.path.join(TRACEFS, "trace_clock")) as f:
            self.old_clock = re.search(r"\[(\S+)\]", f.read()).group(1)
        self.write(os.path.join(TRACEFS, "trace_clock"), "mono")
        self.write(os.path.join(ev, "filter"), "prev_pid == %d" % tid)
        self.write(os.path.join(ev, "enable"), "1")
        self.write(os.path.join(TRACEFS, "tracing_on"), "1")

    @staticmethod
    def write(path, text):
        with open(path, "w") as f:
            f.write(text)

    def clear(self):
        if self.ok:
            self.write(os.path.join(TRACEFS, "trace"), "")

    def longest_ms(self, gaps):
        """The longest ticker gap since clear() that holds a ptrace stop, in ms; None
        without tracefs.  gaps: (start, end) in CLOCK_MONOTONIC ns."""
        if not self.ok:
            return None
        longest = 0.0
        with open(os.path.join(TRACEFS, "trace")) as f:
            for line in f:
                m = re.search(r" ([0-9]+\.[0-9]+): sched_switch: .*prev_pid=(\d+) .*"
                              r"prev_state=(\S+) ==> ", line)
                if not m or int(m.group(2)) != self.tid or "t" not in m.group(3):
                    continue
                out = round(float(m.group(1)) * 1e9)
                for start, end in gaps:
                    if start <= out <= end:
                        longest = max(longest, (end - start) / 1e6)
        return longest

    def close(self):
        if self.ok:
            ev = os.path.join(TRACEFS, "events", "sched", "sched_switch")
            self.write(os.path.join(ev, "enable"), "0")
            self.write(os.path.join(ev, "filter"), "0")
            self.write(os.path.join(TRACEFS, "trace_clock"), self.old_clock)
            self.clear()


def thread_named(pid, name):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == name:
                return int(tid)
    raise SystemExit("no thread %s in %d" % (name, pid))


class Target:
    def __init__(self, exe):
        self.p = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        if self.p.stdout.readline().strip() != "ready":
            raise SystemExit("stoptarget did not start")
        self.pid = self.p.pid

    def reset(self):
        self.p.stdin.write("r")
        self.p.stdin.flush()

    def gap_ns(self):
        self.p.stdin.write("g")
        self.p.stdin.flush()
        return int(self.p.stdout.readline())

    def gaps(self):
        self.p.stdin.write("l")
        self.p.stdin.flush()
        out = []
        for line in iter(self.p.stdout.readline, ".\n"):
            start, end = line.split()
            out.append((int(start), int(end)))
        return out

    def close(self):
        self.p.kill()
        self.p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS-threads.md"))
    args = ap.parse_args()

    daemon = os.path.join(os.path.abspath(args.build), "fs", "memprofd")
    if not os.path.exists(daemon):
        raise SystemExit("no %s: build first" % daemon)
    tmp = tempfile.mkdtemp(prefix="bench-threads-")
    exe = os.path.join(tmp, "stoptarget")
    subprocess.check_call(["cc", "-O2", "-g", "-fno-omit-frame-pointer", "-pthread", "-o", exe,
                           os.path.join(HERE, "stoptarget.c")])
    env = dict(os.environ)
    env.pop("DEBUGINFOD_URLS", None)  # no network lookups in any tool
    env.pop("LD_PRELOAD", None)

    mnt = os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    d = subprocess.Popen([daemon, "-f", mnt], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    target = kstops = None
    try:
        deadline = time.time() + 20
        while not is_mounted(mnt):
            if d.poll() is not None or time.time() > deadline:
                raise SystemExit("memprofd did not mount")
            time.sleep(0.02)
        target = Target(exe)
        kstops = KernelStops(thread_named(target.pid, "ticker"))
        pid = str(target.pid)
        tools = [("cat /memprof/PID/threads.txt", ["cat", os.path.join(mnt, pid, "threads.txt")])]
        if shutil.which("eu-stack"):
            tools.append(("eu-stack -p PID", ["eu-stack", "-p", pid]))
        if shutil.which("gdb"):
            tools.append(("gdb -p PID -batch -ex 'thread apply all bt'",
                          ["gdb", "-nx", "-p", pid, "-batch", "-ex", "thread apply all bt"]))
        tools.append(("(none: sleep 0.02, scheduling noise)", ["sleep", "0.02"]))

        lat = {name: [] for name, _ in tools}
        stop = {name: [] for name, _ in tools}
        kstop = {name: [] for name, _ in tools}
        reported = []
        for run in range(args.runs):
            for name, cmd in tools:
                time.sleep(1.1)  # past memprofd's 1 s snapshot cache
                target.reset()
                kstops.clear()
                t0 = time.monotonic()
                r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   env=env)
                t1 = time.monotonic()
                gap = target.gap_ns()
                k = kstops.longest_ms(target.gaps())
                if k is not None:
                    kstop[name].append(k)
                if r.returncode != 0:
                    raise SystemExit("%s failed with %d" % (name, r.returncode))
                lat[name].append((t1 - t0) * 1e3)
                stop[name].append(gap / 1e6)
                m = re.search(rb"stopped for ([0-9.]+) ms", r.stdout)
                if cmd[0] == "cat" and m:
                    reported.append(float(m.group(1)))
            print("run %d/%d done" % (run + 1, args.runs), file=sys.stderr)
    finally:
        if kstops:
            kstops.close()
        if target:
            target.close()
        d.terminate()
        d.wait()
        if is_mounted(mnt):
            subprocess.call(["fusermount3", "-u", "-z", mnt])
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        "# Thread stacks: memprof threads.txt vs eu-stack vs gdb",
        "",
        "- Command: `bench/threads/bench_threads.py --build %s --runs %d`" % (
            os.path.relpath(args.build, SOURCE), args.runs),
        "- Date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "- Machine: %s" % machine(),
        "- Target: bench/threads/stoptarget.c (%s threads: 8 blocked 9-16 calls deep, a "
        "ticker, main), -O2 -g -fno-omit-frame-pointer" % 10,
        "- Stopped = largest gap seen by the target's ticker thread during the command "
        "(includes scheduling noise: see the `none` row); latency = wall time of the command.",
        "  Median of %d runs, tools interleaved, 1.1 s apart." % args.runs,
        "",
        "- Kernel-seen stop = the longest ticker gap that holds a ptrace stop (sched_switch "
        "tracepoint, prev_state t, clock mono); `-` without tracefs.",
        "",
        "| tool | latency median (ms) | stopped median (ms) | stopped max (ms) "
        "| kernel-seen stop median (ms) | kernel-seen stop max (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, _ in tools:
        ks = kstop[name]
        lines.append("| %s | %.2f | %.3f | %.3f | %s | %s |" % (
            name, statistics.median(lat[name]), statistics.median(stop[name]),
            max(stop[name]), "%.3f" % statistics.median(ks) if ks else "-",
            "%.3f" % max(ks) if ks else "-"))
    if reported:
        lines += ["", "memprofd's own figure (threads.txt header, INTERRUPT to last DETACH): "
                  "median %.3f ms, max %.3f ms." % (statistics.median(reported), max(reported))]
    text = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
