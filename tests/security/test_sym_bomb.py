"""Issue 12, finding 8: compressed debug sections cannot exhaust memory.

nobody's process maps a library whose .debug_str is SHF_COMPRESSED: one inflating to
512 MiB (refused before inflating: its frames stay addresses, the log says why) and one
to 32 MiB (within bounds: inflated in the helper, not in the daemon).  Each read ends
within seconds and memprofd's own peak memory stays small."""

import os
import struct
import zlib

import harness
import symlib


def bomb_section(size):
    """An Elf64_Chdr (zlib, size, alignment 1) and a zlib stream of size zero bytes."""
    z = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    out = [struct.pack("<IIQQ", 1, 0, size, 1)]
    for _ in range(size >> 20):
        out.append(z.compress(chunk))
    out.append(z.flush())
    return b"".join(out)


symlib.require()
att = symlib.workdir()
hold = symlib.build_hold(att)
libs = {}
for mib in (512, 32):
    lib = symlib.build_lib(os.path.join(att, "libbomb%d.so" % mib), "bomb_inner_%d" % mib,
                           debug=True)
    sec = lib + ".str"
    with open(sec, "wb") as f:
        f.write(bomb_section(mib << 20))
    r = __import__("subprocess").run(
        ["objcopy", "--remove-section", ".debug_str", "--add-section",
         ".debug_str=" + sec, lib], capture_output=True, text=True)
    harness.check(r.returncode == 0, "objcopy: " + r.stderr)
    symlib.set_compressed(lib, ".debug_str")
    os.chown(lib, 65534, 65534)
    libs[mib] = lib

m = harness.Mount()
os.chmod(m.dir, 0o755)
with m:
    for mib, lib in libs.items():
        p, pid = symlib.start_holder(hold, lib)
        for name in ("threads.txt", "threads"):
            rc, out, err, secs = symlib.read_as(symlib.NOBODY, m.path(pid, name),
                                                timeout=120)
            harness.check(rc == 0, "%d MiB: nobody's %s failed: %s" % (mib, name, err))
            harness.check(secs < 20, "%d MiB: nobody's %s took %.1f s" % (mib, name, secs))
        symlib.check_serving(m)
        p.kill()
        p.wait()
    log = m.logtext()
    harness.check("inflates to 536870912" in log,
                  "no log line names the 512 MiB section:\n" + log[-3000:])
    hwm = symlib.daemon_hwm_kib(m)
    harness.check(hwm < 128 * 1024, "memprofd peaked at %d KiB" % hwm)
print("compressed section bombs are refused or bounded, outside the daemon: ok")
