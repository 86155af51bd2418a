"""Debug info that dwz split out into an alternate file (.gnu_debugaltlink, as Debian's
-dbgsym packages ship it) is read from the host's /usr/lib/debug, and only from there.

Two pairs of -g libraries share a static function; `dwz -m` moves its name into an
alternate file.  With the alternate file under /usr/lib/debug/.dwz, nobody's stack
names the function (only the alternate file holds that name: its symbol is stripped); with
the alternate file in the user's own directory, it is not used."""

import os
import shutil
import subprocess

import harness
import symlib

INNER = "dwz_shared_inner"
SRC = r"""
#include <unistd.h>
struct dwz_common { int a, b, c, d; long e, f; char g[16]; double h; struct dwz_common *n; };
__attribute__((noinline)) static void %s(struct dwz_common *c)
{ for (;;) { pause(); if (c) c->a++; } }
void %s(void) { struct dwz_common c = {0}; %s(&c); __asm__ volatile(""); }
"""

symlib.require()
if shutil.which("dwz") is None:
    harness.skip("dwz is not installed (Debian package dwz)")
att = symlib.workdir()
hold = symlib.build_hold(att)
dwzdir = "/usr/lib/debug/.dwz"
made_dwzdir = not os.path.isdir(dwzdir)
trusted_alt = os.path.join(dwzdir, "memprof-test-%d.debug" % os.getpid())


def build_pair(tag, alt):
    libs = []
    for entry in ("enter", "enter_other"):
        lib = os.path.join(att, "libdwz-%s-%s.so" % (tag, entry))
        symlib.cc(SRC % (INNER, entry, INNER), lib, "-g", "-shared", "-fPIC")
        libs.append(lib)
    r = subprocess.run(["dwz", "-m", alt, "-M", alt] + libs, capture_output=True, text=True)
    harness.check(r.returncode == 0, "dwz: " + r.stderr)
    for lib in libs:
        r = subprocess.run(["objcopy", "--strip-symbol=" + INNER, lib], capture_output=True,
                           text=True)
        harness.check(r.returncode == 0, "objcopy: " + r.stderr)
        os.chown(lib, 65534, 65534)
    return libs[0]


try:
    os.makedirs(dwzdir, exist_ok=True)
    good = build_pair("trusted", trusted_alt)
    bad = build_pair("own", os.path.join(att, "alt.debug"))
    m = harness.Mount()
    os.chmod(m.dir, 0o755)
    with m:
        for lib, want in ((good, True), (bad, False)):
            p, pid = symlib.start_holder(hold, lib)
            rc, out, err, secs = symlib.read_as(symlib.NOBODY, m.path(pid, "threads.txt"))
            harness.check(rc == 0 and secs < 10, "nobody's read: %s (%.1f s)" % (err, secs))
            harness.check((INNER in out) == want, "%s: %s %s:\n%s" % (
                os.path.basename(lib), INNER, "missing" if want else "named", out))
            p.kill()
            p.wait()
        symlib.check_serving(m)
finally:
    if os.path.exists(trusted_alt):
        os.unlink(trusted_alt)
    if made_dwzdir:
        os.rmdir(dwzdir)
print("dwz alternate files from /usr/lib/debug only: ok")
