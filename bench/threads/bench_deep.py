#!/usr/bin/env python3
"""Deep stacks (issue 15): warm `cat threads.txt` against `eu-stack -p` on
bench/threads/deepstack.c (13 threads: two blocked 41 calls deep, two spinning, eight
asleep, main), built -O2 -g without frame pointers.  One read first (the cold one, which
reads the binaries' unwind tables), then RUNS rounds of the tools, interleaved and 1.1 s
apart (past memprofd's snapshot reuse).  eu-stack runs twice a round: as is (function
names only) and with -i -s, which prints what threads.txt shows (inline frames, file and
line).  Prints the medians and the ratios.

usage: bench/threads/bench_deep.py [--build DIR] [--runs N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench_threads import SOURCE, HERE, is_mounted, machine


def timed(cmd, env):
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    t1 = time.monotonic()
    if r.returncode != 0:
        raise SystemExit("%s failed with %d" % (cmd[0], r.returncode))
    return (t1 - t0) * 1e3, r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    daemon = os.path.join(os.path.abspath(args.build), "fs", "memprofd")
    if not os.path.exists(daemon) or not shutil.which("eu-stack"):
        raise SystemExit("needs %s and eu-stack (elfutils)" % daemon)
    tmp = tempfile.mkdtemp(prefix="bench-deep-")
    exe = os.path.join(tmp, "deepstack")
    subprocess.check_call(["cc", "-O2", "-g", "-fomit-frame-pointer", "-pthread", "-o", exe,
                           os.path.join(HERE, "deepstack.c")])
    env = dict(os.environ)
    env.pop("DEBUGINFOD_URLS", None)
    env.pop("LD_PRELOAD", None)
    mnt = os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    d = subprocess.Popen([daemon, "-f", mnt], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    target = None
    try:
        deadline = time.time() + 20
        while not is_mounted(mnt):
            if d.poll() is not None or time.time() > deadline:
                raise SystemExit("memprofd did not mount")
            time.sleep(0.02)
        target = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        if target.stdout.readline().strip() != "ready":
            raise SystemExit("deepstack did not start")
        path = os.path.join(mnt, str(target.pid), "threads.txt")
        cold, text = timed(["cat", path], env)
        frames = text.count(b"\n#")
        mem, eu, eu_full = [], [], []
        for run in range(args.runs):
            for name, cmd, out in (("memprof", ["cat", path], mem),
                                   ("eu-stack", ["eu-stack", "-p", str(target.pid)], eu),
                                   ("eu-stack -i -s",
                                    ["eu-stack", "-i", "-s", "-p", str(target.pid)], eu_full)):
                time.sleep(1.1)
                out.append(timed(cmd, env)[0])
            print("run %d/%d done" % (run + 1, args.runs), file=sys.stderr)
    finally:
        if target:
            target.kill()
            target.wait()
        d.terminate()
        d.wait()
        if is_mounted(mnt):
            subprocess.call(["fusermount3", "-u", "-z", mnt])
        shutil.rmtree(tmp, ignore_errors=True)
    m, e, f = statistics.median(mem), statistics.median(eu), statistics.median(eu_full)
    print("machine: %s" % machine())
    print("threads.txt lines with a frame: %d; cold read %.2f ms" % (frames, cold))
    print("| tool | median (ms) | min | max |")
    print("|---|---:|---:|---:|")
    print("| cat /memprof/PID/threads.txt (warm) | %.2f | %.2f | %.2f |" % (m, min(mem), max(mem)))
    print("| eu-stack -p PID | %.2f | %.2f | %.2f |" % (e, min(eu), max(eu)))
    print("| eu-stack -i -s -p PID | %.2f | %.2f | %.2f |" % (f, min(eu_full), max(eu_full)))
    print("ratio memprof/eu-stack: %.2f; memprof/eu-stack -i -s: %.2f" % (m / e, m / f))


if __name__ == "__main__":
    main()
