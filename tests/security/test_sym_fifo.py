"""Issue 12, finding 5: a FIFO at a candidate debug path does not block the daemon.

The library's .gnu_debuglink names a FIFO next to it (and in .debug/); nobody's read
of its threads.txt ends within seconds, with the library's exported frames, while
root's ls of the mount still answers."""

import os

import harness
import symlib

symlib.require()
att = symlib.workdir()
hold = symlib.build_hold(att)
lib = symlib.build_lib(os.path.join(att, "libfifo.so"), "fifo_inner")
symlib.strip_all(lib)
symlib.add_debuglink(lib, "libfifo.debug", 0x12345678)
os.mkfifo(os.path.join(att, "libfifo.debug"))
os.mkdir(os.path.join(att, ".debug"))
os.mkfifo(os.path.join(att, ".debug", "libfifo.debug"))
for root, dirs, files in os.walk(att):
    for n in dirs + files:
        os.lchown(os.path.join(root, n), 65534, 65534)

m = harness.Mount()
os.chmod(m.dir, 0o755)
with m:
    p, pid = symlib.start_holder(hold, lib)
    for name in ("threads.txt", "threads"):
        rc, out, err, secs = symlib.read_as(symlib.NOBODY, m.path(pid, name), timeout=60)
        harness.check(rc == 0, "nobody's %s failed: %s" % (name, err))
        harness.check(secs < 10, "nobody's %s took %.1f s (blocked on the FIFO?)"
                      % (name, secs))
    out = m.read(pid, "threads.txt").decode()
    harness.check("enter" in out, "the library's exported frame is missing:\n" + out)
    symlib.check_serving(m)
    p.kill()
    p.wait()
print("a FIFO among the debug candidates blocks nothing: ok")
