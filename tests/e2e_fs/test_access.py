"""Access like /proc: a user sees its own dumpable processes; CAP_SYS_PTRACE sees all."""

import os
import subprocess
import sys

from harness import Mount, spawn, check, skip, wait_for_line, memstats

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# an interpreter nobody can run (pyenv's shims live under /root)
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
NOBODY_PTRACE = NOBODY + ["--inh-caps=+sys_ptrace", "--ambient-caps=+sys_ptrace"]


def as_user(prefix, argv):
    return subprocess.run(prefix + argv, capture_output=True, text=True, timeout=60)


def may_read(prefix, path):
    r = as_user(prefix, ["cat", path])
    if r.returncode == 0:
        return True
    check("Permission denied" in r.stderr, "cat %s: unexpected error %r" % (path, r.stderr))
    return False


def may_list(prefix, path):
    r = as_user(prefix, ["ls", path])
    if r.returncode == 0:
        return True
    check("Permission denied" in r.stderr, "ls %s: unexpected error %r" % (path, r.stderr))
    return False


def main():
    if os.geteuid() != 0:
        skip("needs root: the daemon mounts with allow_other and the test switches users")
    if subprocess.run(["which", "setpriv"], capture_output=True).returncode != 0:
        skip("setpriv (util-linux) is not installed")

    m = Mount()
    os.chmod(m.dir, 0o755)  # mkdtemp makes it 0700; nobody must reach the mount
    with m:
        root_proc = spawn(["sleep", "1000"])
        own = spawn(NOBODY + ["sleep", "1000"])
        # nobody's process that made itself non-dumpable, as setuid programs are
        undumpable = spawn(NOBODY + [PYTHON, "-c",
                                     "import ctypes, time\n"
                                     "ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\n"
                                     "print('ready', flush=True)\n"
                                     "time.sleep(1000)\n"],
                           stdout=subprocess.PIPE, text=True)
        wait_for_line(undumpable, "ready")

        # the root listing shows every process to everyone, like /proc
        r = as_user(NOBODY, ["ls", m.dir])
        check(r.returncode == 0, "nobody cannot list the root (allow_other?): " + r.stderr)
        listed = r.stdout.split()
        check(str(root_proc.pid) in listed and str(own.pid) in listed, "root listing")

        # own, dumpable process: readable, with the right numbers
        r = as_user(NOBODY, ["cat", m.path(own.pid, "memstats")])
        check(r.returncode == 0, "nobody cannot read its own process: " + r.stderr)
        check(memstats(r.stdout)["VmSize"] > 0, "own memstats empty")
        check(may_list(NOBODY, m.path(own.pid)), "nobody cannot list its own process")

        # root's process: every file and the listing are EACCES
        for name in ("memstats", "threads", "threads.txt", "heap", "allocs", "heap.txt"):
            check(not may_read(NOBODY, m.path(root_proc.pid, name)),
                  "nobody read root's %s" % name)
        check(not may_list(NOBODY, m.path(root_proc.pid)), "nobody listed root's process")
        r = as_user(NOBODY, ["stat", "-c", "%s", m.path(root_proc.pid, "memstats")])
        check(r.returncode != 0 and "Permission denied" in r.stderr,
              "nobody could stat root's memstats: " + r.stdout + r.stderr)

        # same user but not dumpable: denied, as ptrace would be
        check(not may_read(NOBODY, m.path(undumpable.pid, "memstats")),
              "nobody read its own non-dumpable process")

        # CAP_SYS_PTRACE overrides: nobody with the capability reads root's process
        check(may_read(NOBODY_PTRACE, m.path(root_proc.pid, "memstats")),
              "CAP_SYS_PTRACE holder was refused")

        # ...but only in the daemon's user namespace: anyone is "root" with every
        # capability in a namespace of their own, which gives no power over the host
        userns = NOBODY + ["unshare", "--user", "--map-root-user"]
        probe = as_user(userns, ["grep", "CapEff", "/proc/self/status"])
        if probe.returncode == 0:
            check(not may_read(userns, m.path(root_proc.pid, "memstats")),
                  "root of a private user namespace read root's process")
        else:
            print("note: unprivileged user namespaces unavailable here: %s"
                  % probe.stderr.strip())

        # root reads everything
        for p in (root_proc, own, undumpable):
            with open(m.path(p.pid, "memstats")) as f:
                check(memstats(f.read())["VmSize"] > 0, "root cannot read %d" % p.pid)

        for p in (root_proc, own, undumpable):
            p.kill()
            p.wait()
    print("ok")


if __name__ == "__main__":
    main()
