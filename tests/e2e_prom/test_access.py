"""metrics.prom per reader: user nobody sees the series of its own processes only, root
and a reader with CAP_SYS_PTRACE (what the node_exporter drop-in gives) see everyone's."""

import os
import subprocess

import harness
import promlib

CAT_AS_NOBODY = promlib.NOBODY
CAT_WITH_PTRACE = promlib.NOBODY + ["--inh-caps=+sys_ptrace", "--ambient-caps=+sys_ptrace"]


def read_as(prefix, path):
    r = subprocess.run(prefix + ["cat", path], capture_output=True, text=True, timeout=60)
    harness.check(r.returncode == 0, "cat %s as %r: %s" % (path, prefix, r.stderr))
    return r.stdout


def pids_in(text):
    return {int(lb["pid"]) for _, lb, _ in promlib.samples(text) if "pid" in lb}


def main():
    if os.geteuid() != 0:
        harness.skip("needs root: the daemon mounts with allow_other and the test switches "
                     "users")
    m = harness.Mount()
    os.chmod(m.dir, 0o755)  # mkdtemp makes it 0700; nobody must reach the mount
    with m:
        roots = promlib.start_leak()
        own = promlib.start_leak(user=promlib.NOBODY)
        path = os.path.join(m.dir, "metrics.prom")

        text = read_as(CAT_AS_NOBODY, path)
        promlib.promtool_check(text)
        seen = pids_in(text)
        harness.check(own.pid in seen, "nobody does not see its own process %d" % own.pid)
        harness.check(roots.pid not in seen, "nobody sees root's process %d" % roots.pid)
        for pid in seen:
            harness.check(os.stat("/proc/%d" % pid).st_uid == 65534,
                          "nobody sees pid %d of another user" % pid)
        heap = promlib.series(text, "memprof_heap_inuse_bytes")
        ms = harness.memstats(m.read(own.pid, "memstats").decode())
        harness.check(heap.get(own.pid) == ms["HeapAlloc"], "nobody's own heap %r, memstats %d"
                      % (heap.get(own.pid), ms["HeapAlloc"]))

        for who, prefix in [("root", []), ("nobody with CAP_SYS_PTRACE", CAT_WITH_PTRACE)]:
            seen = pids_in(read_as(prefix, path))
            harness.check({own.pid, roots.pid} <= seen, "%s sees %r, not both %d and %d"
                          % (who, sorted(seen), own.pid, roots.pid))
        print("ok: nobody sees %d of its own, not root's %d" % (own.pid, roots.pid))


main()
