"""Issue 12, finding 6: a user cannot make root's stacks show their names.

nobody runs a byte copy of the bash binary (same build id) whose .dynstr names are
renamed, and reads its own threads.txt first (so its symbols are cached); root's own
bash, read after, must still show bash's real names.  The cache is keyed by the mapped
file's identity (device, inode, size, times), not by the build id the file carries."""

import os
import re
import shutil
import subprocess

import harness
import symlib

symlib.require()
BASH = shutil.which("bash")
if not BASH:
    harness.skip("bash is not installed")

m = harness.Mount()
os.chmod(m.dir, 0o755)
with m:
    def start_bash(prefix, exe):
        p = harness.spawn(prefix + [exe, "-c", "echo ready; read x"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        harness.wait_for_line(p, "ready")
        return p

    # root's bash, its real names as ground truth (read with a cold cache first)
    real = start_bash([], BASH)
    truth = m.read(real.pid, "threads.txt").decode()
    names = set(re.findall(r"0x[0-9a-f]+  (\w+)  .*\(bash\)", truth))
    names |= set(re.findall(r"0x[0-9a-f]+  (\w+)$", truth, re.M))
    names = {n for n in names if len(n) >= 6 and n != "main"}
    if not names:
        harness.skip("root's bash stack has no bash function names to rename:\n" + truth)

    att = symlib.workdir()
    copy = os.path.join(att, "bash")
    with open(BASH, "rb") as f:
        data = f.read()
    for n in names:
        evil = ("X" * len(n)).encode()
        data = data.replace(b"\0" + n.encode() + b"\0", b"\0" + evil + b"\0")
    with open(copy, "wb") as f:
        f.write(data)
    os.chmod(copy, 0o755)
    os.chown(copy, 65534, 65534)

    # a fresh daemon: nobody's copy goes into the cache first
    m.stop()
    m.start()
    fake = start_bash(symlib.NOBODY, copy)
    rc, out, err, secs = symlib.read_as(symlib.NOBODY, m.path(fake.pid, "threads.txt"))
    harness.check(rc == 0 and secs < 10, "nobody's read: %s (%.1f s)" % (err, secs))
    real2 = start_bash([], BASH)
    out = m.read(real2.pid, "threads.txt").decode()
    harness.check("XXXXXX" not in out, "root's bash shows the attacker's names:\n" + out)
    # (the stack may differ a little between two bash processes: some names suffice)
    harness.check(any(n in out for n in names), "root's bash lost its names:\n" + out)
    symlib.check_serving(m)
    for p in (real, fake, real2):
        p.kill()
        p.wait()
print("root's stacks keep their names against a same-build-id copy: ok")
