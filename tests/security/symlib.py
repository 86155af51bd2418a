"""Shared by the symbolizer attack tests: building small libraries at test time (with a
chosen build id, debuglink and sections), a program that blocks inside one, running
things as an unprivileged user, and checking the daemon still serves."""

import atexit
import gzip
import os
import shutil
import struct
import subprocess
import tempfile
import time

import harness

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# The functions a library built by build_lib blocks in: static, so only a symbol table
# or debug info names them, never .dynsym.
HOLD_SRC = r"""
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
        void *h = dlopen(argv[1], RTLD_NOW);
        if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        void (*enter)(void) = (void (*)(void)) dlsym(h, "enter");
        printf("ready\n");
        fflush(stdout);
        enter();
        return 0;
}
"""


def lib_src(inner):
    return r"""
#include <unistd.h>
__attribute__((noinline)) static void %s(void) { for (;;) pause(); }
void enter(void) { %s(); __asm__ volatile(""); }
""" % (inner, inner)


def require():
    if os.geteuid() != 0:
        harness.skip("needs root: the daemon mounts with allow_other and the test "
                     "switches users")
    for tool in ("cc", "objcopy", "setpriv"):
        if shutil.which(tool) is None:
            harness.skip("%s is not installed" % tool)


def workdir(owner_nobody=True):
    """A fresh directory under /tmp that nobody may enter (and own, for the attacker),
    removed at exit."""
    d = tempfile.mkdtemp(prefix="memprof-sym-")
    atexit.register(shutil.rmtree, d, True)
    os.chmod(d, 0o755)
    if owner_nobody:
        os.chown(d, 65534, 65534)
    return d


def cc(src, out, *args):
    path = out + ".c"
    with open(path, "w") as f:
        f.write(src)
    r = subprocess.run(["cc", "-O1", "-fno-omit-frame-pointer", path, "-o", out] + list(args),
                       capture_output=True, text=True)
    harness.check(r.returncode == 0, "cc %s: %s" % (out, r.stderr))
    return out


def build_hold(d):
    return cc(HOLD_SRC, os.path.join(d, "hold"), "-ldl")


def build_lib(path, inner, debug=False, build_id=None):
    args = ["-shared", "-fPIC"]
    args += ["-g"] if debug else []
    args += ["-Wl,--build-id=" + build_id] if build_id else ["-Wl,--build-id=none"]
    return cc(lib_src(inner), path, *args)


def strip_all(path):
    r = subprocess.run(["objcopy", "--strip-all", path], capture_output=True, text=True)
    harness.check(r.returncode == 0, "objcopy --strip-all: " + r.stderr)


def add_debuglink(path, name, crc):
    """A .gnu_debuglink naming `name` with `crc`, whatever the file it names holds."""
    data = name.encode() + b"\0"
    data += b"\0" * (-len(data) % 4) + struct.pack("<I", crc)
    sec = path + ".debuglink"
    with open(sec, "wb") as f:
        f.write(data)
    r = subprocess.run(["objcopy", "--add-section", ".gnu_debuglink=" + sec, path],
                       capture_output=True, text=True)
    harness.check(r.returncode == 0, "objcopy --add-section: " + r.stderr)


def elf_sections(path):
    """{name: (header offset, sh_flags offset)} of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        data = f.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    str_off, = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)
    out = {}
    for i in range(shnum):
        h = shoff + i * shentsize
        name_off, = struct.unpack_from("<I", data, h)
        end = data.index(b"\0", str_off + name_off)
        out[data[str_off + name_off:end].decode()] = h
    return out


def set_compressed(path, section):
    """Marks `section` SHF_COMPRESSED in place (its bytes already hold a Chdr)."""
    h = elf_sections(path)[section]
    with open(path, "r+b") as f:
        f.seek(h + 8)
        flags, = struct.unpack("<Q", f.read(8))
        f.seek(h + 8)
        f.write(struct.pack("<Q", flags | 0x800))


def as_nobody(argv, **kw):
    return harness.spawn(NOBODY + argv, **kw)


def start_holder(hold, lib, nobody=True):
    """A process blocked inside lib's static function; returns (proc, pid)."""
    argv = [hold, lib]
    p = (as_nobody if nobody else harness.spawn)(argv, stdout=subprocess.PIPE, text=True)
    harness.wait_for_line(p, "ready")
    time.sleep(0.2)  # into pause()
    return p, p.pid


def read_as(prefix, path, timeout=30):
    """`cat path` as a user; returns (returncode, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    r = subprocess.run(prefix + ["cat", path], capture_output=True, timeout=timeout)
    data = r.stdout
    if data[:2] == b"\x1f\x8b":  # pprof: its strings are plain inside the gzip
        data = gzip.decompress(data)
    return (r.returncode, data.decode(errors="replace"),
            r.stderr.decode(errors="replace"), time.monotonic() - t0)


def check_serving(m):
    """Root's listing of the mount still answers and the daemon lives."""
    harness.check(m.proc.poll() is None, "memprofd died: " + m.logtext()[-3000:])
    t0 = time.monotonic()
    entries = os.listdir(m.dir)
    harness.check(str(os.getpid()) in entries, "root's ls of the mount lacks itself")
    harness.check(time.monotonic() - t0 < 10, "root's ls of the mount took too long")


def daemon_hwm_kib(m):
    with open("/proc/%d/status" % m.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0
