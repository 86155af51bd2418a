"""Issue 12, finding 8: compressed debug sections cannot exhaust memory.

nobody's process maps a library whose .debug_str is SHF_COMPRESSED: one inflating to
512 MiB (refused before inflating: its frames stay addresses, the log says why) and one
to 32 MiB (within bounds: inflated in the helper, not in the daemon).  Then a stripped
library whose .gnu_debugdata (MiniDebugInfo, xz) claims 3 GiB in its index (refused
from the index alone), and one with a real small MiniDebugInfo (its names still come
through).  Each read ends within seconds and memprofd's own peak memory stays small."""

import lzma
import os
import struct
import subprocess
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


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def read_varint(b, i):
    v = shift = 0
    while True:
        v |= (b[i] & 0x7f) << shift
        shift += 7
        i += 1
        if not b[i - 1] & 0x80:
            return v, i


def xz_claiming(size):
    """A one-block xz stream of 4 KiB whose index says the block inflates to size."""
    data = lzma.compress(b"\0" * 4096, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    flags = data[-4:-2]
    bsize = (struct.unpack("<I", data[-8:-4])[0] + 1) * 4
    index = data[-12 - bsize:-12]
    harness.check(index[0] == 0, "xz index indicator")
    n, i = read_varint(index, 1)
    harness.check(n == 1, "xz index records")
    unpadded, i = read_varint(index, i)
    body = b"\0" + varint(1) + varint(unpadded) + varint(size)
    body += b"\0" * (-len(body) % 4)
    new_index = body + struct.pack("<I", zlib.crc32(body))
    back = struct.pack("<I", len(new_index) // 4 - 1)
    footer = struct.pack("<I", zlib.crc32(back + flags)) + back + flags + b"YZ"
    return data[:-12 - bsize] + new_index + footer


def add_section(lib, name, data):
    sec = lib + name
    with open(sec, "wb") as f:
        f.write(data)
    r = subprocess.run(["objcopy", "--add-section", name + "=" + sec, lib],
                       capture_output=True, text=True)
    harness.check(r.returncode == 0, "objcopy: " + r.stderr)


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

# MiniDebugInfo: a forged index, and a real one (a symbol table only, as distributions
# make it)
xzbomb = symlib.build_lib(os.path.join(att, "libxzbomb.so"), "xz_bomb_inner")
symlib.strip_all(xzbomb)
add_section(xzbomb, ".gnu_debugdata", xz_claiming(3 << 30))
os.chown(xzbomb, 65534, 65534)
mini = symlib.build_lib(os.path.join(att, "libmini.so"), "mini_debug_inner")
symtab = mini + ".mini"
r = subprocess.run(["objcopy", "--only-keep-debug", mini, symtab], capture_output=True,
                   text=True)
harness.check(r.returncode == 0, "objcopy --only-keep-debug: " + r.stderr)
with open(symtab, "rb") as f:
    mini_xz = lzma.compress(f.read(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
symlib.strip_all(mini)
add_section(mini, ".gnu_debugdata", mini_xz)
os.chown(mini, 65534, 65534)

m = harness.Mount()
os.chmod(m.dir, 0o755)
with m:
    for lib, want in ((xzbomb, None), (mini, "mini_debug_inner")):
        p, pid = symlib.start_holder(hold, lib)
        rc, out, err, secs = symlib.read_as(symlib.NOBODY, m.path(pid, "threads.txt"),
                                            timeout=120)
        harness.check(rc == 0 and secs < 20, "%s: nobody's read: %s (%.1f s)"
                      % (os.path.basename(lib), err, secs))
        if want:
            harness.check(want in out, "MiniDebugInfo lost its names:\n" + out)
        p.kill()
        p.wait()
    harness.check("gnu_debugdata inflates to 3221225472" in m.logtext(),
                  "no log line names the MiniDebugInfo bomb:\n" + m.logtext()[-3000:])
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
