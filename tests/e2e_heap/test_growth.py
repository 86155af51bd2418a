"""A snapshot kept with cp, then growth: `go tool pprof -base` shows exactly the grown
site, and `diff` of two heap.txt snapshots shows its entry (and the totals) only."""

import os
import re
import shutil
import subprocess
import tempfile

import harness
from heaptest import command, finish, start_example

with harness.Mount() as m:
    p, pid = start_example("leak", rate=1)
    tmp = tempfile.mkdtemp()
    try:
        before = os.path.join(tmp, "before.pb.gz")
        before_txt = os.path.join(tmp, "before.txt")
        subprocess.check_call(["cp", m.path(pid, "heap"), before])
        subprocess.check_call(["cp", m.path(pid, "heap.txt"), before_txt])
        harness.check(os.path.getsize(before_txt) == os.stat(m.path(pid, "heap.txt")).st_size,
                      "ls -l size of heap.txt differs from its content")
        command(p, "grow", "grown")

        top = harness.go_pprof("-top", "-unit=B", "-sample_index=inuse_space", "-base", before,
                               m.path(pid, "heap"))
        rows = [l for l in top.splitlines() if re.match(r"^\s*-?\d+B\s", l)]
        harness.check(len(rows) == 1 and rows[0].split()[0] == "%dB" % (8 << 20)
                      and rows[0].endswith("grow_site"),
                      "-base should show only grow_site +8 MiB:\n" + top)

        after_txt = subprocess.run(["cat", m.path(pid, "heap.txt")], capture_output=True,
                                   text=True, check=True).stdout
        d = subprocess.run(["diff", before_txt, "-"], input=after_txt, capture_output=True,
                           text=True)
        harness.check(d.returncode == 1, "diff saw no change")
        changed = [l for l in d.stdout.splitlines() if l[:2] in ("< ", "> ")]
        removed = [l for l in changed if l.startswith("< ")]
        added = [l for l in changed if l.startswith("> ")]
        harness.check(all(l.startswith("< total:") for l in removed),
                      "diff removed more than the totals line:\n" + d.stdout)
        harness.check(any("grow_site" in l for l in added),
                      "diff does not show grow_site's entry:\n" + d.stdout)
        harness.check(any("131072 objects" in l or "128 objects, 8388608 bytes in use" in l
                          for l in added), "grow_site entry values:\n" + d.stdout)
        entry_lines = [l for l in added if not l.startswith("> total:")]
        harness.check(all("grow_site" in l or " bytes in use" in l or l.strip() in ("", ">")
                          or "main " in l or "__libc" in l or "_start" in l or "??" in l
                          for l in entry_lines),
                      "diff shows more than the new entry:\n" + d.stdout)
        finish(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
print("ok")
