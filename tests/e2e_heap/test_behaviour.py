"""Programs behave the same under the shim: output and exit code of real programs,
including a multi-threaded fork/exec workload, at rate 1 and at the default rate."""

import os
import subprocess

import harness

WORKLOADS = [
    # the shim opens no descriptor the program can see (it once leaked libunwind's pipe)
    ["python3", "-c", "import os; x = [str(i) * 1000 for i in range(10000)]; "
                      "print(sorted(os.listdir('/proc/self/fd')))"],
    ["sh", "-c", "for i in $(seq 1 40); do echo line$i; done | sort -r | head -5; "
                 "ls /proc/self/ >/dev/null; exit 3"],
    ["python3", "-c",
     "import json, threading, subprocess, os\n"
     "out = []\n"
     "def work(i):\n"
     "    d = {str(k): [k] * 50 for k in range(2000)}\n"
     "    out.append(len(json.dumps(d)))\n"
     "    r = subprocess.run(['sh', '-c', 'echo child %d; exit %d' % (i, i)], capture_output=True)\n"
     "    out.append((r.stdout, r.returncode))\n"
     "    pid = os.fork()\n"
     "    if pid == 0:\n"
     "        os._exit(len(json.dumps(d)) % 256)\n"
     "    out.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n"
     "ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n"
     "[t.start() for t in ts]; [t.join() for t in ts]\n"
     "print(sorted(map(str, out)))\n"
     "raise SystemExit(7)\n"],
]


def run(argv, env):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.update(env)
    r = subprocess.run(argv, capture_output=True, env=e, timeout=300)
    return r.returncode, r.stdout, r.stderr


for argv in WORKLOADS:
    base = run(argv, {})
    for rate in ("1", "524288"):
        got = run(argv, {"LD_PRELOAD": harness.SHIM, "MEMPROF_RATE": rate})
        harness.check(got == base, "%s differs under the shim at rate %s:\n%r\nvs\n%r"
                      % (argv[0], rate, got, base))
print("ok")
