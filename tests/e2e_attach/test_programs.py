"""memprof attach on programs at work: Debian's sqlite3 mid-insert, python3 in a
workload, an 8-thread allocation storm, programs blocked in read, nanosleep and accept,
a full-RELRO -fno-plt binary, a program that dlopens a library after the attach.  Each
is attached to 20 times; output and exit status are those of a run without attach."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import harness
import pprof
from attachlib import HERE, attach, command, exe, finish, start

ATTACHES = 20
PYTHON = "/usr/bin/python3"

SQL = """create table t(a integer primary key, b text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 600000)
insert into t select x, printf('%08d-%s', x, substr('abcdefghij', 1 + x % 10)) from c;
select count(*), sum(length(b)), max(b) from t;
create index tb on t(b);
select count(*) from t where b like '0001%';
"""

PY = """
import hashlib
d = {}
for i in range(400000):
    d[str(i)] = [i] * (i % 7)
s = sum(len(v) for v in d.values())
h = hashlib.sha256(repr(sorted(d)[:1000]).encode()).hexdigest()
print(s, h)
"""


def run_attached(argv, stdin_text, rate, delay, env=None):
    """Runs argv with stdin_text, attaches after delay; returns (rc, out, err)."""
    p = harness.spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True, env=env)
    p.stdin.write(stdin_text)
    p.stdin.close()
    time.sleep(delay)
    harness.check(p.poll() is None, "%s finished before the attach" % argv[0])
    attach(p.pid, rate)
    out = p.stdout.read()
    err = p.stderr.read()
    p.wait(120)
    return p.returncode, out, err


def same_as_plain(name, argv, stdin_text, delay):
    ref = subprocess.run(argv, input=stdin_text, capture_output=True, text=True, timeout=120)
    for i in range(ATTACHES):
        rc, out, err = run_attached(argv, stdin_text, 1 if i % 2 else 524288, delay)
        harness.check((rc, out, err) == (ref.returncode, ref.stdout, ref.stderr),
                      "%s attached (%d): %r, want %r" % (name, i, (rc, out[:300], err[:300]),
                                                      (ref.returncode, ref.stdout[:300],
                                                       ref.stderr[:300])))


def blocked(how):
    """Attachees blocked in `how`, attached to while they wait, all at once."""
    procs = [start("attachee", args=[how]) for _ in range(ATTACHES)]
    for p, _ in procs:
        attach(p.pid, 1)
    for p, line in procs:
        if how == "accept":
            port = int(line.split()[3])
            socket.create_connection(("127.0.0.1", port)).close()
            harness.check("accepted ok=1 errno=0" in harness.wait_for_line(p, "accepted"),
                          "accept after attach")
        elif how == "nanosleep":
            got = harness.wait_for_line(p, "slept")
            harness.check("slept r=0 errno=0 at-least-1500ms=1" in got,
                          "nanosleep after attach: %r" % got)
        command(p, "a 100 1")
        finish(p)


def exact_sites(m, pid, want):
    h = pprof.Profile(m.read(pid, "heap"))
    inuse = h.by_top_function("inuse_space")
    for site, nbytes in want.items():
        harness.check(inuse.get(site) == nbytes, "%s: %r bytes, want %d"
                      % (site, inuse.get(site), nbytes))


with harness.Mount() as m:
    # the program stopped wherever it is: mostly inside sqlite3's VM, running
    sqlite = shutil.which("sqlite3")
    if sqlite:
        same_as_plain("sqlite3", [sqlite, ":memory:"], SQL, 0.15)
    else:
        print("sqlite3 not installed (Debian package sqlite3): that part not run")
    if os.path.exists(PYTHON):
        same_as_plain("python3", [PYTHON, "-c", PY], "", 0.15)

    for how in ("read", "nanosleep", "accept"):
        blocked(how)

    for i in range(ATTACHES):
        p, _ = start("attachee", args=["read", "8"])
        attach(p.pid, 1 if i % 2 else 524288)
        time.sleep(0.05)
        command(p, "a 1000 10")
        finish(p)

    plugin = os.path.join(HERE, "libattach_plugin.so")
    for i in range(ATTACHES):
        p, _ = start("attachee_relro" if i % 2 else "attachee")
        attach(p.pid, 1)
        command(p, "free-pre")
        command(p, "a 700 30")
        command(p, "dlopen " + plugin)
        exact_sites(m, p.pid, {"site_a": 21000, "plugin_alloc": 3000})
        finish(p)
print("ok")
