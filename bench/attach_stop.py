#!/usr/bin/env python3
"""How long memprof attach stops the borrowed thread (the figure the command reports),
over N attaches to fresh processes: one asleep in read, one busy allocating (8 threads).

    bench/attach_stop.py [--build DIR] [-n N]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("-n", type=int, default=30)
    a = ap.parse_args()
    memprof = os.path.join(a.build, "cli", "memprof")
    attachee = os.path.join(a.build, "tests", "e2e_attach", "attachee")
    for label, args, rate in (("asleep in read", ["read", "0"], "524288"),
                              ("asleep in read", ["read", "0"], "1"),
                              ("8 threads allocating", ["read", "8"], "524288")):
        stops = []
        for _ in range(a.n):
            p = subprocess.Popen([attachee] + args, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
            p.stdout.readline()
            time.sleep(0.02)
            r = subprocess.run([memprof, "attach", "--rate", rate, str(p.pid)],
                               capture_output=True, text=True)
            m = re.search(r"stopped for ([\d.]+) ms", r.stdout)
            if not m:
                sys.exit("attach failed: %s %s" % (r.stdout, r.stderr))
            stops.append(float(m.group(1)))
            p.communicate("exit\n", timeout=30)
        stops.sort()
        print("%-22s rate %-7s n=%d  median %.2f ms  p90 %.2f ms  max %.2f ms" % (
            label, rate, len(stops), statistics.median(stops),
            stops[int(len(stops) * 0.9) - 1], stops[-1]))


if __name__ == "__main__":
    main()
