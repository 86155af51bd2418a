"""memstats of a real process against /proc/PID/status, and what ordinary tools see."""

import errno
import os
import subprocess
import sys
import tarfile
import tempfile

from harness import Mount, spawn, check, memstats
from fsutil import KERNEL_SIZES, proc_status, expect_errno, read_file, spawn_idle


def check_against_proc(m, pid):
    before = proc_status(pid)
    text = subprocess.run(["cat", m.path(pid, "memstats")], capture_output=True,
                          check=True).stdout.decode()
    after = proc_status(pid)
    got = memstats(text)
    print(text)
    for name in KERNEL_SIZES + ["Threads"]:
        check(name in got, "memstats lacks %s" % name)
        lo, hi = min(before[name], after[name]), max(before[name], after[name])
        check(lo <= got[name] <= hi,
              "%s: memstats says %d, /proc said %d then %d" % (
                  name, got[name], before[name], after[name]))
    check(got["VmSize"] == before["VmSize"] == after["VmSize"], "VmSize differs")
    check(got["Threads"] == before["Threads"], "Threads differs")
    # the order is part of the format: diff and awk rely on it
    names = [l.split()[0] for l in text.splitlines() if l and not l.startswith("#")]
    check(names[:8] == KERNEL_SIZES + ["Threads"], "kernel figures out of order: %r" % names)
    check(text.startswith("# kernel (/proc/PID/status)\n"), "missing kernel section head")
    check("# heap profiling off: libmemprof.so is not loaded" in text,
          "memstats does not say why heap profiling is off")
    check("memprof run -- CMD" in text, "memstats does not say how to turn it on")


def check_sizes_and_tools(m, pid):
    path = m.path(pid, "memstats")
    data = read_file(path)
    # stat right before open: the size is the size of what is read
    st = os.stat(path)
    with open(path, "rb") as f:
        first = f.read()
        check(os.fstat(f.fileno()).st_size == len(first), "fstat size != bytes read")
    check(st.st_size == len(first), "stat size %d != %d bytes read" % (st.st_size, len(first)))
    check(len(data) > 0 and data.endswith(b"\n"), "memstats is not newline-terminated text")
    check(st.st_mode & 0o777 == 0o444, "file mode %o, want 0444" % (st.st_mode & 0o777))

    with tempfile.TemporaryDirectory() as tmp:
        # one snapshot per open, so compare tools against each other at the same moment
        cp = os.path.join(tmp, "copy")
        subprocess.run(["cp", path, cp], check=True)
        copied = read_file(cp)
        # an idle process: two snapshots in a row diff clean (before the tar below reads
        # threads, whose stack reads may fault pages into the process and move VmRSS)
        d = subprocess.run(["diff", cp, path], capture_output=True, text=True)
        check(d.returncode == 0, "an idle process's memstats changed: %s%s" % (d.stdout,
                                                                              d.stderr))
        check(memstats(copied.decode()).keys() == memstats(data.decode()).keys(),
              "cp copy differs in names")
        check(len(copied) > 0 and copied.endswith(b"\n"), "cp produced a partial file")

        tarball = os.path.join(tmp, "x.tar")
        r = subprocess.run(["tar", "-C", m.dir, "-cf", tarball, "%d/memstats" % pid],
                           capture_output=True, text=True)
        check(r.returncode == 0, "tar failed (%d): %s" % (r.returncode, r.stderr))
        check("changed as we read" not in r.stderr, "tar saw the file change: " + r.stderr)
        with tarfile.open(tarball) as t:
            member = t.getmember("%d/memstats" % pid)
            body = t.extractfile(member).read()
        check(len(body) == member.size and body.endswith(b"\n"), "tar stored a partial file")
        check(memstats(body.decode())["VmSize"] == memstats(data.decode())["VmSize"],
              "tar copy differs from cat")

        # the whole directory: tar stats it before and after, so its times must hold
        # still, and every file must be exactly as long as stat said
        r = subprocess.run(["tar", "-C", m.dir, "-cf", tarball, str(pid)],
                           capture_output=True, text=True)
        check(r.returncode == 0, "tar of PID/ failed (%d): %s" % (r.returncode, r.stderr))
        with tarfile.open(tarball) as t:
            names = sorted(x.name for x in t.getmembers())
            for member in t.getmembers():
                if member.isfile():
                    body = t.extractfile(member).read()
                    check(len(body) == member.size > 0, "tar: %s is partial" % member.name)
        check(names == sorted(["%d" % pid] + ["%d/%s" % (pid, n) for n in
                                              ("memstats", "threads", "threads.txt")]),
              "tar of PID/ holds %r" % names)



def check_exit_while_open(m):
    p = spawn(["sleep", "1000"])
    path = m.path(p.pid, "memstats")
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        p.kill()
        p.wait()
        check(not os.path.exists("/proc/%d" % p.pid), "process still there")
        chunks = []
        while True:
            b = os.read(fd, 7)  # small reads: offsets must hold across the snapshot
            if not b:
                break
            chunks.append(b)
        data = b"".join(chunks)
        check(len(data) == size, "read %d bytes of a %d-byte snapshot" % (len(data), size))
        check(memstats(data.decode())["VmSize"] > 0, "snapshot lost its figures")
        check(os.fstat(fd).st_size == size, "fstat of the open file changed")
    finally:
        os.close(fd)
    expect_errno(errno.ENOENT, open, path)
    expect_errno(errno.ENOENT, os.stat, m.path(p.pid))


def check_fresh_after_stat(m):
    """A snapshot made for one program's stat is not what another program opens: a change
    between them shows, however quickly it follows."""
    path = m.path(os.getpid(), "memstats")
    os.stat(path)
    before = memstats(read_file(path).decode())["RssAnon"]
    grown = bytearray(64 << 20)
    for i in range(0, len(grown), 4096):
        grown[i] = 1
    os.stat(path)  # made for this process; cat below must not be handed it
    text = subprocess.run(["cat", path], capture_output=True, check=True).stdout.decode()
    after = memstats(text)["RssAnon"]
    check(after >= before + (60 << 20),
          "cat saw RssAnon %d after touching 64 MiB (was %d)" % (after, before))
    # this process's own stat snapshot would be handed to its next open (as tar wants):
    # take it now, so later checks of this process see fresh figures
    read_file(path)
    del grown


def main():
    with Mount() as m:
        p = spawn_idle()
        check_against_proc(m, p.pid)
        check_sizes_and_tools(m, p.pid)
        check_exit_while_open(m)
        check_fresh_after_stat(m)
        # a file of this test's own process (python, several pages of figures)
        lo = proc_status(os.getpid())["VmSize"]
        own = memstats(read_file(m.path(os.getpid(), "memstats")).decode())["VmSize"]
        hi = proc_status(os.getpid())["VmSize"]
        check(min(lo, hi) <= own <= max(lo, hi), "own VmSize %d not in [%d, %d]" % (own, lo, hi))
        p.kill()
        p.wait()
        log = m.logtext()
    # nothing here is a genuine failure, so the daemon must not have logged one
    check("memprofd: pid" not in log, "daemon logged failures: " + log)
    print("ok")


if __name__ == "__main__":
    main()
