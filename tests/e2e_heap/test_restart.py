"""The profile lives in the process, not in the daemon: a daemon started after the
program sees everything, and a daemon killed (SIGKILL) and restarted gives the same
profile."""

import harness
import pprof
from heaptest import finish, start_example

MiB = 1 << 20

p, pid = start_example("leak", rate=1)

m = harness.Mount()
m.start()
first = pprof.Profile(m.read(pid, "heap"))
harness.check(first.by_top_function("inuse_space").get("leak_big") == 64 * MiB,
              "daemon started after the program misses leak_big")
text1 = m.read(pid, "heap.txt")
m.stop(sig=9)
harness.check(harness.is_mounted(m.dir), "expected a dead mount after SIGKILL")
m.start()  # on the stale mount: the daemon must recover it
second = pprof.Profile(m.read(pid, "heap"))
text2 = m.read(pid, "heap.txt")
for t in ("inuse_space", "inuse_objects", "alloc_space", "alloc_objects"):
    harness.check(first.by_top_function(t) == second.by_top_function(t),
                  "%s changed across the restart" % t)
harness.check(text1 == text2, "heap.txt changed across the restart")
finish(p)
m.close()
print("ok")
