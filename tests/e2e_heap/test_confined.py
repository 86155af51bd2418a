"""The heap of a process that sees the filesystem or PIDs differently from the daemon:
under chroot (its segment shows in /proc/PID/maps as ROOT/dev/shm/memprof.*), in its
own mount and PID namespaces with its own tmpfs on /dev/shm (its PID there is 1), and
in a rootful podman container run from a root directory (`test_confined.py podman`,
a test of its own, skipped where podman cannot run).  Each is the leak example at
MEMPROF_RATE=1 in a minimal root holding it, the shim and their libraries; its heap
must show leak_big's 64 MiB exactly, and memstats no refused segment."""

import os
import shutil
import subprocess
import sys
import tempfile

import harness
import pprof

MiB = 1 << 20
LEAK = os.path.realpath(os.path.join(harness.EXAMPLES, "leak"))
SHIM = os.path.realpath(harness.SHIM)


def minimal_root():
    """A directory holding the example, the shim and every library they load, each at
    its own absolute path, and an empty dev/shm, tmp and proc."""
    root = tempfile.mkdtemp(prefix="memprof-root-")
    os.chmod(root, 0o755)
    files = set()
    for f in (LEAK, SHIM):
        files.add(f)
        out = subprocess.run(["ldd", f], capture_output=True, text=True, check=True).stdout
        files.update(w for w in out.split() if w.startswith("/"))
    for f in files:
        dst = root + f
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(f, dst)  # follows symlinks: the soname path holds the library itself
    for d in ("dev/shm", "tmp", "proc"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    return root


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name, errors="replace") as f:  # any comm
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(name))
    return out


def descendant_running(pid, exe):
    """The host PID of the process below pid that runs exe."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            if os.readlink("/proc/%d/exe" % p).endswith(exe):
                return p
        except OSError:
            pass
        todo += children(p)
    harness.fail("no process below %d runs %s" % (pid, exe))


def check_heap(m, pid, what):
    with open("/proc/%d/maps" % pid) as f:
        seg = [ln.split(None, 5)[-1] for ln in f if "/memprof." in ln and " rw-s " in ln]
    harness.check(len(seg) == 1, "%s: segment mappings %r" % (what, seg))
    text = m.read(pid, "memstats").decode()
    ms = harness.memstats(text)
    harness.check(ms.get("IgnoredSegments") == 0 and ms.get("Mallocs", 0) > 0,
                  "%s: memstats\n%s" % (what, text))
    h = pprof.Profile(m.read(pid, "heap"))
    inuse = h.by_top_function("inuse_space")
    harness.check(inuse.get("leak_big") == 64 * MiB,
                  "%s: leak_big inuse %r, want %d" % (what, inuse.get("leak_big"), 64 * MiB))
    return seg[0]


def start(argv):
    """Runs argv (which ends up running the example), waits for it to be ready."""
    p = harness.spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if "ready" not in line:
        p.kill()
        return p, None, p.stderr.read()
    return p, line, None


def finish(p, what):
    p.stdin.write("exit\n")
    p.stdin.close()
    p.wait(60)
    harness.check(p.returncode == 0, "%s: exited with %d" % (what, p.returncode))


ENV = "env LD_PRELOAD=%s MEMPROF_RATE=1" % SHIM


def chroot_and_namespaces(m, root):
    # chroot, with a tmpfs on ROOT/dev/shm in a mount namespace of its own
    what = "chroot"
    p, line, err = start(["unshare", "--mount", "sh", "-c",
                          "mount -t tmpfs -o mode=1777 shm %s/dev/shm && exec %s chroot %s %s"
                          % (root, ENV, root, LEAK)])
    harness.check(line, "%s: the example did not start: %s" % (what, err))
    pid = int(line.split()[1])
    path = check_heap(m, pid, what)
    harness.check(path.startswith(root + "/dev/shm/memprof."),
                  "%s: the segment shows as %s, not under the root" % (what, path))
    finish(p, what)

    # mount and PID namespaces, a tmpfs of their own on /dev/shm
    what = "mount+pid namespaces"
    p, line, err = start(["unshare", "--mount", "--pid", "--fork", "sh", "-c",
                          "mount -t tmpfs -o mode=1777 shm /dev/shm && exec %s %s"
                          % (ENV, LEAK)])
    harness.check(line, "%s: the example did not start: %s" % (what, err))
    harness.check(line.split()[1] == "1", "%s: pid inside %r" % (what, line))
    check_heap(m, descendant_running(p.pid, LEAK), what)
    finish(p, what)


def podman(m, root):
    what = "podman"
    name = "memprof-test-%d" % os.getpid()
    # runc and cgroupfs work where crun does not (cgroup v1 or hybrid hosts); low
    # rlimits, because a sandbox without CAP_SYS_RESOURCE refuses raising them
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    argv = (["podman"] + runtime + ["--cgroup-manager=cgroupfs", "run", "--rm", "-i",
                                    "--name", name, "--network=none",
                                    "--ulimit", "nofile=1024:1024",
                                    "--ulimit", "nproc=1024:1024",
                                    "-e", "LD_PRELOAD=" + SHIM, "-e", "MEMPROF_RATE=1",
                                    "--rootfs", root, LEAK])
    p, line, err = start(argv)
    if not line:
        return "podman cannot run a container here: %s" % err.strip()
    harness.check(line.split()[1] == "1", "%s: pid inside %r" % (what, line))
    r = subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}", name],
                       capture_output=True, text=True)
    harness.check(r.returncode == 0, "podman inspect: %s" % r.stderr)
    check_heap(m, int(r.stdout), what)
    finish(p, what)
    return None


use_podman = sys.argv[1:] == ["podman"]
if use_podman and shutil.which("podman") is None:
    harness.skip("podman is not installed (Debian package podman)")
root = minimal_root()
skipped = None
try:
    with harness.Mount() as m:
        if use_podman:
            skipped = podman(m, root)
        else:
            chroot_and_namespaces(m, root)
finally:
    shutil.rmtree(root, ignore_errors=True)
if skipped:
    harness.skip(skipped)
print("ok")
