"""Issue 12, finding 4: a debug file the reader cannot read is never used for them.

An unprivileged user maps a stripped library whose .gnu_debuglink leads (by symlink) to
a root-only -g library in a 0700 directory: once with a CRC of 0 and no build id (the
old code accepted it unchecked), once with the secret library's own build id (a match,
but not one the user may read).  Their threads.txt must name none of the secret's
functions or source lines; root, who may read it, gets the names in the second case."""

import os
import subprocess

import harness
import symlib

SECRET_FN = "root_only_secret_function"
SECRET_ID = "0x5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7"

symlib.require()
att = symlib.workdir()
vault = symlib.workdir(owner_nobody=False)
os.chmod(vault, 0o700)
hold = symlib.build_hold(att)
os.chmod(hold, 0o755)

# Per case a root-only library with debug info, laid out like the attacker's (with or
# without a build id note), so that its names would land on the attacker's frames.
cases = []
for name, build_id, crc in (("nocrc", None, 0), ("sameid", SECRET_ID, None)):
    secret = symlib.build_lib(os.path.join(vault, "libsecret-%s.so" % name), SECRET_FN,
                              debug=True, build_id=build_id)
    os.chmod(secret, 0o600)
    lib = os.path.join(att, "libatt-%s.so" % name)
    symlib.build_lib(lib, "attacker_inner_" + name, build_id=build_id)
    symlib.strip_all(lib)
    link = "libatt-%s.debug" % name
    symlib.add_debuglink(lib, link, crc or 0)
    os.symlink(secret, os.path.join(att, link))
    os.lchown(os.path.join(att, link), 65534, 65534)
    os.chown(lib, 65534, 65534)
    cases.append((name, lib))

m = harness.Mount()
os.chmod(m.dir, 0o755)
with m:
    for name, lib in cases:
        p, pid = symlib.start_holder(hold, lib)
        rc, out, err, secs = symlib.read_as(symlib.NOBODY, m.path(pid, "threads.txt"))
        harness.check(rc == 0, "%s: nobody's threads.txt failed: %s" % (name, err))
        harness.check(secs < 10, "%s: nobody's read took %.1f s" % (name, secs))
        harness.check(SECRET_FN not in out and "libsecret" not in out,
                      "%s: the root-only library's names leaked to nobody:\n%s" % (name, out))
        harness.check("enter" in out, "%s: the library's exported frame is missing:\n%s"
                      % (name, out))
        rc, out, err, _ = symlib.read_as(symlib.NOBODY, m.path(pid, "threads"))
        harness.check(rc == 0, "%s: nobody's threads failed: %s" % (name, err))
        harness.check(SECRET_FN not in out, "%s: leaked into the pprof file" % name)
        if name == "sameid":
            # root may read the secret, and its build id matches: root sees its names
            out = m.read(pid, "threads.txt").decode()
            harness.check(SECRET_FN in out, "sameid: root does not get the matching "
                          "debug file's names:\n" + out)
        else:
            out = m.read(pid, "threads.txt").decode()
            harness.check(SECRET_FN not in out, "nocrc: a CRC of 0 was accepted for root")
        p.kill()
        p.wait()
    symlib.check_serving(m)
print("debug files the reader cannot read are not used: ok")
