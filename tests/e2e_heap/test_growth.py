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
        removed = [l for l in d.stdout.splitlines() if l.startswith("< ")]
        harness.check(all(l.startswith("< total:") for l in removed),
                      "diff removed more than the totals line:\n" + d.stdout)
        harness.check("grow_site" in d.stdout, "diff does not show grow_site:\n" + d.stdout)

        # entry by entry: every entry of before is still there unchanged, and every new
        # entry is grow_site's (8 MiB in 128 objects of 64 KiB)
        def entries(text):
            blocks = text.split("\n\n")[1:]
            return {b.split("\n", 1)[1]: b.split("\n", 1)[0] for b in blocks}
        old, new = entries(open(before_txt).read()), entries(after_txt)
        for stack, values in old.items():
            harness.check(new.get(stack) == values, "entry changed: %s\n%s" % (values, stack))
        grown = {s: v for s, v in new.items() if s not in old}
        harness.check(len(grown) == 1, "new entries: %r" % grown)
        stack, values = grown.popitem()
        harness.check("grow_site" in stack.split("\n")[0], "new entry's top: %s" % stack)
        harness.check(values.startswith("128 objects, 8388608 bytes in use;"),
                      "grow_site entry: %s" % values)
        finish(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
print("ok")
